-- sluice Lua tap: upper-cases everything that passes, both directions.
--
-- handle(data, info) gets the bytes of one read (TCP) or one datagram
-- (UDP) and returns the bytes to pass on: a string (may be empty), or
-- nil/false to drop them.  info has session, listener, proto, client,
-- local, target and direction ("up": client to target, "down": back).
-- Config: { "type": "lua", "script": "/etc/sluice/upper.lua" }
function handle(data, info)
	return data:upper()
end
