-- A Lua tap for the integration tests: never returns, so its
-- instruction budget ends the session.
function handle(data, info)
	while true do end
end
