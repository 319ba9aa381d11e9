-- A Lua tap for the integration tests: upper-cases every payload.
function handle(data, info)
	return data:upper()
end
