/*
 * Configuration loader tests, rejected documents: each entry of the table
 * is wrong in exactly one way and must fail with the JSON path and the
 * problem exactly as the user will see it; plus the error buffer's
 * truncation and the size check before parsing.
 * Part of the check_config executable (see check_config.h).
 */
#include "check_config.h"

struct bad {
	const char	*json;
	const char	*err;
};

/* Each document is wrong in exactly one way. */
static const struct bad bad[] = {
	/* the document */
	{ "", "config: invalid JSON near byte 0" },
	{ "{", "config: invalid JSON near byte 0" },
	{ "{'port': 1,}", "config: invalid JSON near byte 11" },
	{ "{} x", "config: invalid JSON near byte 3" },
	{ "{}{}", "config: invalid JSON near byte 2" },
	{ "[]", "config: expected an object, got array" },
	{ "null", "config: expected an object, got null" },
	{ "'x'", "config: expected an object, got string" },
	{ "{'fooo': 1}", "fooo: unknown key" },
	{ "{'Port': 1}", "Port: unknown key" },
	{ "{'a\\nb': 1}", "a?b: unknown key" },
	{ "{'kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"
	    "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkk': 1}",
	    "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"
	    "kkkkkkkkkkkkkkkkkkkkkkkk...: unknown key" },
	{ "{'port': 1, 'port': 2}", "port: duplicate key" },
	/* PythTRT root keys */
	{ "{'port': 'x'}", "port: expected a number, got string" },
	{ "{'port': 70000}", "port: 70000 is not a port (1-65535)" },
	{ "{'port': 0}", "port: 0 is not a port (1-65535)" },
	{ "{'port': -1}", "port: -1 is not a port (1-65535)" },
	{ "{'port': 80.5}", "port: 80.5 is not an integer" },
	{ "{'port': 1e400}", "port: inf is not a port (1-65535)" },
	{ "{'port': null}", "port: expected a number, got null" },
	{ "{'domain': 'localhost'}",
	    "domain: \"localhost\" is not an IP address literal" },
	{ "{'domain': ''}", "domain: must not be empty" },
	{ "{'domain': 5}", "domain: expected a string, got number" },
	{ "{'timeout': 0}",
	    "timeout: 0 is out of range (0 < seconds <= 86400)" },
	{ "{'timeout': -1}",
	    "timeout: -1 is out of range (0 < seconds <= 86400)" },
	{ "{'timeout': 86401}",
	    "timeout: 86401 is out of range (0 < seconds <= 86400)" },
	{ "{'timeout': '5'}", "timeout: expected a number, got string" },
	{ "{'max_threads': 0}", "max_threads: 0 is out of range (1-1000000)" },
	{ "{'max_threads': 2.5}", "max_threads: 2.5 is not an integer" },
	{ "{'max_threads': 1e20}",
	    "max_threads: 1e+20 is out of range (1-1000000)" },
	{ "{'balancer': []}", "balancer: expected an object, got array" },
	{ "{'balancer': {'x': 1}}", "balancer.x: unknown key" },
	{ "{'balancer': {'strategy': 'fast'}}",
	    "balancer.strategy: \"fast\" is not one of round_robin, "
	    "random_link, least_connections, failover, fastest" },
	{ "{'balancer': {'strategy': 'Round_Robin'}}",
	    "balancer.strategy: \"Round_Robin\" is not one of round_robin, "
	    "random_link, least_connections, failover, fastest" },
	{ "{'balancer': {'strategy': 1}}",
	    "balancer.strategy: expected a string, got number" },
	{ "{'balancer': {'links': {}}}",
	    "balancer.links: expected an array, got object" },
	{ "{'balancer': {'matchers': {}}}",
	    "balancer.matchers: expected an array, got object" },
	{ "{'balancer': {'matchers': [1]}}",
	    "balancer.matchers[0]: expected an object, got number" },
	{ "{'balancer': {'links': [], 'links': []}}",
	    "balancer.links: duplicate key" },
	/* sluice root keys */
	{ "{'user': ''}", "user: must not be empty" },
	{ "{'user': 'a b'}", "user: \"a b\" is not a user name" },
	{ "{'user': '-x'}", "user: \"-x\" is not a user name" },
	{ "{'user': 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'}",
	    "user: longer than 63 bytes" },
	{ "{'workers': 65}", "workers: 65 is out of range (0-64)" },
	{ "{'workers': -1}", "workers: -1 is out of range (0-64)" },
	{ "{'workers': true}", "workers: expected a number, got boolean" },
	{ "{'chroot': 'var/empty'}",
	    "chroot: \"var/empty\" is not an absolute path" },
	{ "{'chroot': ''}", "chroot: must not be empty" },
	{ "{'shutdown_timeout': 3601}",
	    "shutdown_timeout: 3601 is out of range (0-3600)" },
	{ "{'shutdown_timeout': 1.5}",
	    "shutdown_timeout: 1.5 is not an integer" },
	{ "{'log_level': 'loud'}",
	    "log_level: \"loud\" is not one of error, warn, warning, info, "
	    "debug" },
	{ "{'log_level': 1}", "log_level: expected a string, got number" },
	{ "{'idle_timeout': 0}",
	    "idle_timeout: 0 is out of range (0 < seconds <= 86400)" },
	{ "{'resolve_timeout': false}",
	    "resolve_timeout: expected a number, got boolean" },
	{ "{'splice': 1}", "splice: expected a boolean, got number" },
	{ "{'splice': 'yes'}", "splice: expected a boolean, got string" },
	{ "{'nameservers': 5}",
	    "nameservers: expected a string or an array, got number" },
	{ "{'nameservers': []}", "nameservers: expected 1-16 entries, got 0" },
	{ "{'nameservers': 'dns.google'}",
	    "nameservers: \"dns.google\" is not a nameserver (ip, ip:port or "
	    "[ipv6]:port)" },
	{ "{'nameservers': ['1.1.1.1', 'x']}",
	    "nameservers[1]: \"x\" is not a nameserver (ip, ip:port or "
	    "[ipv6]:port)" },
	{ "{'nameservers': ['system']}",
	    "nameservers[0]: \"system\" is not a nameserver (ip, ip:port or "
	    "[ipv6]:port)" },
	{ "{'nameservers': '1.1.1.1:0'}",
	    "nameservers: \"1.1.1.1:0\" is not a nameserver (ip, ip:port or "
	    "[ipv6]:port)" },
	{ "{'nameservers': '1.1.1.1:70000'}",
	    "nameservers: \"1.1.1.1:70000\" is not a nameserver (ip, "
	    "ip:port or [ipv6]:port)" },
	{ "{'nameservers': '[1.1.1.1]:53'}",
	    "nameservers: \"[1.1.1.1]:53\" is not a nameserver (ip, ip:port or "
	    "[ipv6]:port)" },
	{ "{'nameservers': '[::1'}",
	    "nameservers: \"[::1\" is not a nameserver (ip, ip:port or "
	    "[ipv6]:port)" },
	{ "{'nameservers': '[::1]x'}",
	    "nameservers: \"[::1]x\" is not a nameserver (ip, ip:port or "
	    "[ipv6]:port)" },
	{ "{'nameservers': ''}", "nameservers: must not be empty" },
	{ "{'nameservers': [5]}",
	    "nameservers[0]: expected a string, got number" },
	{ "{'listen': '127.0.0.1:1080'}",
	    "listen: expected an array, got string" },
	{ "{'listen': []}", "listen: expected 1-16 entries, got 0" },
	{ "{'listen': ['127.0.0.1']}",
	    "listen[0]: \"127.0.0.1\" is not an address and port (ip:port or "
	    "[ipv6]:port)" },
	{ "{'listen': ['::1']}",
	    "listen[0]: \"::1\" is not an address and port (ip:port or "
	    "[ipv6]:port)" },
	{ "{'listen': ['localhost:1080']}",
	    "listen[0]: \"localhost:1080\" is not an address and port "
	    "(ip:port or [ipv6]:port)" },
	{ "{'listen': ['[::1]:1080', '[::1]:1080']}",
	    "listen[1]: \"[::1]:1080\" is already listed" },
	{ "{'listen': ['127.0.0.1:1080'], 'port': 1080}",
	    "listen: cannot be combined with domain/port" },
	{ "{'domain': '::', 'listen': ['127.0.0.1:1080']}",
	    "listen: cannot be combined with domain/port" },
	/* listeners */
	{ "{'listeners': {}}", "listeners: expected an array, got object" },
	{ "{'listeners': []}", "listeners: expected 1-16 entries, got 0" },
	{ "{'listeners': [{'listen': '127.0.0.1:1'}]}",
	    "listeners[0].kind: required (socks5, http, mixed, sni, host, "
	    "forward, udp_forward, redirect, tproxy, metrics or tunnel)" },
	{ "{'listeners': [{'kind': 'socks5'}]}",
	    "listeners[0].listen: required (ip:port)" },
	{ "{'listeners': [{'kind': 'socks6', 'listen': '127.0.0.1:1'}]}",
	    "listeners[0].kind: \"socks6\" is not one of socks5, http, mixed, "
	    "sni, host, forward, udp_forward, redirect, tproxy, metrics, "
	    "tunnel" },
	/* forward, udp_forward, redirect, tproxy (issue 11) */
	{ "{'listeners': [{'kind': 'host', 'listen': '127.0.0.1:1'}], "
	    "'services': {'a.test': {'addr': '127.0.0.1', 'taps': [{'type': "
	    "'pcap', 'file': '/tmp/x.pcap'}]}}}",
	    "services.a.test.taps[0].type: pcap taps belong to "
	    "listeners" },
	{ "{'listeners': [{'kind': 'host', 'listen': '127.0.0.1:1'}], "
	    "'services': {'a.test': {'addr': '127.0.0.1', 'taps': []}}}",
	    "services.a.test.taps: empty: leave \"taps\" out for none" },
	{ "{'listeners': [{'kind': 'tproxy_udp', 'listen': '127.0.0.1:1'}]}",
	    "listeners[0].kind: \"tproxy_udp\" is not one of socks5, http, "
	    "mixed, sni, host, forward, udp_forward, redirect, tproxy, metrics, "
	    "tunnel" },
	{ "{'listeners': [{'kind': 'forward', 'listen': '127.0.0.1:1'}]}",
	    "listeners[0].target: required (host:port) for a forward or "
	    "udp_forward listener" },
	{ "{'listeners': [{'kind': 'socks5', 'listen': '127.0.0.1:1', "
	    "'target': '127.0.0.1:2'}]}",
	    "listeners[0].target: only forward and udp_forward listeners have "
	    "a fixed target" },
	{ "{'listeners': [{'kind': 'forward', 'listen': '127.0.0.1:1', "
	    "'target': 'a b:2'}]}",
	    "listeners[0].target: \"a b:2\" is not a host and port (name:port, "
	    "ip:port or [ipv6]:port)" },
	{ "{'listeners': [{'kind': 'forward', 'listen': '127.0.0.1:1', "
	    "'target': 'example.org:0'}]}",
	    "listeners[0].target: \"example.org:0\" is not a host and port "
	    "(name:port, ip:port or [ipv6]:port)" },
	{ "{'listeners': [{'kind': 'forward', 'listen': '127.0.0.1:1', "
	    "'target': 'example.org'}]}",
	    "listeners[0].target: \"example.org\" is not a host and port "
	    "(name:port, ip:port or [ipv6]:port)" },
	{ "{'listeners': [{'kind': 'forward', 'listen': '127.0.0.1:1', "
	    "'target': '127.0.0.1:2', 'max_flows': 10}]}",
	    "listeners[0].max_flows: only for udp_forward listeners and tproxy "
	    "with \"udp\": true" },
	{ "{'listeners': [{'kind': 'udp_forward', 'listen': '127.0.0.1:1', "
	    "'target': '127.0.0.1:2', 'max_flows': 10, "
	    "'max_flows_per_client': 11}]}",
	    "listeners[0].max_flows_per_client: above max_flows" },
	{ "{'listeners': [{'kind': 'udp_forward', 'listen': '127.0.0.1:1', "
	    "'target': '127.0.0.1:2', 'max_flows': 0}]}",
	    "listeners[0].max_flows: 0 is out of range (1-1000000)" },
	{ "{'listeners': [{'kind': 'udp_forward', 'listen': '127.0.0.1:1', "
	    "'target': '127.0.0.1:2', 'proxy_protocol': true, "
	    "'proxy_protocol_from': ['127.0.0.1']}]}",
	    "listeners[0].proxy_protocol: not for UDP" },
	{ "{'listeners': [{'kind': 'redirect', 'listen': '127.0.0.1:1', "
	    "'proxy_protocol': true, 'proxy_protocol_from': ['127.0.0.1']}]}",
	    "listeners[0].proxy_protocol: a transparent listener learns the "
	    "destination from the kernel, not a header" },
	{ "{'listeners': [{'kind': 'redirect', 'listen': '127.0.0.1:1', "
	    "'udp': true}]}",
	    "listeners[0].udp: only for tproxy listeners" },
	{ "{'listeners': [{'kind': 'forward', 'listen': '127.0.0.1:1', "
	    "'target': '127.0.0.1:2', 'users': [{'username': 'a', "
	    "'password': 'b'}]}]}",
	    "listeners[0].users: a listener of this kind cannot ask for "
	    "credentials" },
	{ "{'listeners': [{'kind': 'udp_forward', 'listen': '127.0.0.1:1', "
	    "'target': '127.0.0.1:2'}, {'kind': 'udp_forward', "
	    "'listen': '127.0.0.1:1', 'target': '127.0.0.1:3'}]}",
	    "listeners[1]: \"127.0.0.1:1\" is already listed" },
	{ "{'listeners': [{'kind': 'tproxy', 'udp': true, 'listen': "
	    "'127.0.0.1:1', 'name': 'abcdefghijabcdefghijabcdefghijabcdefghij"
	    "abcdefghijabcdefghijab'}]}",
	    "listeners: listener name abcdefghijabcdefghijabcdefghijabcdefghij"
	    "abcdefghijabcdefghijab: too long for its UDP side "
	    "(\"abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijab"
	    ".udp\")" },
	{ "{'listeners': [{'kind': 'http', 'listen': 'localhost:1'}]}",
	    "listeners[0].listen: \"localhost:1\" is not an address and port "
	    "(ip:port or [ipv6]:port)" },
	{ "{'listeners': [{'kind': 'http', 'listen': '127.0.0.1:1', "
	    "'name': 'a b'}]}",
	    "listeners[0].name: \"a b\" is not a name (letters, digits, . _ -)" },
	{ "{'listeners': [{'kind': 'http', 'listen': '127.0.0.1:1', "
	    "'name': 'a'}, {'kind': 'http', 'listen': '127.0.0.1:2', "
	    "'name': 'a'}]}", "listeners[1].name: used by another listener" },
	{ "{'listeners': [{'kind': 'http', 'listen': '127.0.0.1:1'}, "
	    "{'kind': 'socks5', 'listen': '127.0.0.1:1'}]}",
	    "listeners[1]: \"127.0.0.1:1\" is already listed" },
	{ "{'listeners': [{'kind': 'http', 'listen': '127.0.0.1:1', "
	    "'users': []}]}", "listeners[0].users: empty: leave \"users\" out "
	    "for no authentication" },
	{ "{'listeners': [{'kind': 'http', 'listen': '127.0.0.1:1', "
	    "'users': [{'username': 'a'}]}]}",
	    "listeners[0].users[0].password: required" },
	{ "{'listeners': [{'kind': 'http', 'listen': '127.0.0.1:1', "
	    "'users': [{'password': 'a'}]}]}",
	    "listeners[0].users[0].username: required" },
	{ "{'listeners': [{'kind': 'http', 'listen': '127.0.0.1:1', "
	    "'users': [{'username': 'a', 'password': '$1$x'}]}]}",
	    "listeners[0].users[0].password: starts with \"$\" but is not a "
	    "crypt(3) hash this system supports (yescrypt $y$, SHA-512 $6$, "
	    "...)" },
	{ "{'listeners': [{'kind': 'http', 'listen': '127.0.0.1:1', "
	    "'clients': []}]}",
	    "listeners[0].clients: empty: no client could connect" },
	{ "{'listeners': [{'kind': 'http', 'listen': '127.0.0.1:1', "
	    "'clients': ['10.0.0.0/33']}]}",
	    "listeners[0].clients[0]: \"10.0.0.0/33\" is not an address or "
	    "CIDR prefix" },
	{ "{'listeners': [{'kind': 'http', 'listen': '127.0.0.1:1'}], "
	    "'port': 1}", "listeners: cannot be combined with listen or "
	    "domain/port" },
	{ "{'listeners': [{'kind': 'http', 'listen': '127.0.0.1:1'}], "
	    "'balancer': {'matchers': [{'listeners': ['nope']}]}}",
	    "balancer.matchers[0].listeners[0]: no listener is named \"nope\"" },
	{ "{'listeners': [{'kind': 'http', 'listen': '127.0.0.1:1'}], "
	    "'balancer': {'links': [{'matchers': [{'users': ['eve']}]}]}}",
	    "balancer.links[0].matchers[0].users[0]: no listener has a user "
	    "\"eve\"" },
	/* links */
	{ "{'balancer': {'links': [5]}}",
	    "balancer.links[0]: expected an object, got number" },
	{ "{'balancer': {'links': [{'fooo': 1}]}}",
	    "balancer.links[0].fooo: unknown key" },
	{ "{'balancer': {'links': [{'protocol': 'http'}]}}",
	    "balancer.links[0].protocol: \"http\" is not one of direct, "
	    "socks5, agent" },
	{ "{'balancer': {'links': [{'protocol': 'socks5', 'port': 1080}]}}",
	    "balancer.links[0].domain: required for a socks5 link" },
	{ "{'balancer': {'links': [{'protocol': 'socks5', 'port': 1080,"
	    " 'domain': ''}]}}",
	    "balancer.links[0].domain: required for a socks5 link" },
	{ "{'balancer': {'links': [{'protocol': 'socks5', 'domain': 'h'}]}}",
	    "balancer.links[0].port: required for a socks5 link" },
	{ "{'balancer': {'links': [{'protocol': 'socks5', 'domain': 'h',"
	    " 'port': 0}]}}",
	    "balancer.links[0].port: 0 is not a port (1-65535)" },
	{ "{'balancer': {'links': [{}, {'port': 70000}]}}",
	    "balancer.links[1].port: 70000 is not a port (1-65535)" },
	{ "{'balancer': {'links': [{}, {'port': 80.5}]}}",
	    "balancer.links[1].port: 80.5 is not an integer" },
	{ "{'balancer': {'links': [{'port': '80'}]}}",
	    "balancer.links[0].port: expected a number, got string" },
	{ "{'balancer': {'links': [{'port': 1, 'port': 1}]}}",
	    "balancer.links[0].port: duplicate key" },
	{ "{'balancer': {'links': [{'port': 80}]}}",
	    "balancer.links[0].port: only socks5 links have an upstream port" },
	{ "{'balancer': {'links': [{'domain': 'h'}]}}",
	    "balancer.links[0].domain: only socks5 links have an upstream "
	    "host" },
	{ "{'balancer': {'links': [{'protocol': 'socks5', 'port': 1,"
	    " 'domain': 'bad host'}]}}",
	    "balancer.links[0].domain: \"bad host\" is not a host name or IP "
	    "address" },
	{ "{'balancer': {'links': [{'protocol': 'socks5', 'port': 1,"
	    " 'domain': 'a..b'}]}}",
	    "balancer.links[0].domain: \"a..b\" is not a host name or IP "
	    "address" },
	{ "{'balancer': {'links': [{'timeout': 0}]}}",
	    "balancer.links[0].timeout: 0 is out of range (0 < seconds <= "
	    "86400)" },
	{ "{'balancer': {'links': [{'weight': 0}]}}",
	    "balancer.links[0].weight: 0 is out of range (1-1000000)" },
	{ "{'balancer': {'links': [{'weight': 1000001}]}}",
	    "balancer.links[0].weight: 1000001 is out of range (1-1000000)" },
	{ "{'balancer': {'links': [{'max_connections': -1}]}}",
	    "balancer.links[0].max_connections: -1 is out of range "
	    "(0-1000000)" },
	{ "{'balancer': {'links': [{'interface': 'eth0/1'}]}}",
	    "balancer.links[0].interface: \"eth0/1\" is not an interface "
	    "name" },
	{ "{'balancer': {'links': [{'interface': '..'}]}}",
	    "balancer.links[0].interface: \"..\" is not an interface name" },
	{ "{'balancer': {'links': [{'interface': 'abcdefghijklmnop'}]}}",
	    "balancer.links[0].interface: longer than 15 bytes" },
	{ "{'balancer': {'links': [{'name': ''}]}}",
	    "balancer.links[0].name: must not be empty" },
	{ "{'balancer': {'links': [{'name': 'a b'}]}}",
	    "balancer.links[0].name: \"a b\" is not a link name "
	    "([A-Za-z0-9_.-])" },
	{ "{'balancer': {'links': [{'name': 'a'}, {'name': 'a'}]}}",
	    "balancer.links[1].name: name \"a\" is already taken" },
	{ "{'balancer': {'links': [{'name': 'link1'}, {}]}}",
	    "balancer.links[1]: default name \"link1\" is already taken" },
	{ "{'balancer': {'links': [{'source': 'host'}]}}",
	    "balancer.links[0].source: \"host\" is not an IP address literal" },
	{ "{'balancer': {'links': [{'source': ''}]}}",
	    "balancer.links[0].source: must not be empty" },
	{ "{'balancer': {'links': [{'username': 'u', 'password': 'p'}]}}",
	    "balancer.links[0].username: only socks5 links take credentials" },
	{ "{'balancer': {'links': [{'password': 'p'}]}}",
	    "balancer.links[0].password: only socks5 links take credentials" },
	{ "{'balancer': {'links': [{'protocol': 'socks5', 'domain': 'h',"
	    " 'port': 1, 'username': 'u'}]}}",
	    "balancer.links[0].password: required with username" },
	{ "{'balancer': {'links': [{'protocol': 'socks5', 'domain': 'h',"
	    " 'port': 1, 'password': 'p'}]}}",
	    "balancer.links[0].username: required with password" },
	{ "{'balancer': {'links': [{'protocol': 'socks5', 'domain': 'h',"
	    " 'port': 1, 'username': '', 'password': 'p'}]}}",
	    "balancer.links[0].username: must not be empty" },
	{ "{'balancer': {'links': [{}, {'via': 'link0'}]}}",
	    "balancer.links[1].via: only socks5 links can be chained" },
	{ "{'balancer': {'links': [{'protocol': 'socks5', 'domain': 'h',"
	    " 'port': 1, 'via': 'nope'}]}}",
	    "balancer.links[0].via: no link named \"nope\"" },
	{ "{'balancer': {'links': [{'protocol': 'socks5', 'domain': 'h',"
	    " 'port': 1, 'via': 'link0'}]}}",
	    "balancer.links[0].via: a link cannot go through itself" },
	{ "{'balancer': {'links': [{'protocol': 'socks5', 'domain': 'h',"
	    " 'port': 1, 'via': ''}]}}",
	    "balancer.links[0].via: must not be empty" },
	{ "{'balancer': {'links': ["
	    "{'protocol': 'socks5', 'domain': 'h', 'port': 1, 'via': 'b',"
	    " 'name': 'a'},"
	    "{'protocol': 'socks5', 'domain': 'h', 'port': 1, 'via': 'a',"
	    " 'name': 'b'}]}}",
	    "balancer.links[0].via: chain loops through link \"a\"" },
	{ "{'balancer': {'links': [{}, {'matchers': 'x'}]}}",
	    "balancer.links[1].matchers: expected an array, got string" },
	/* failure handling */
	{ "{'balancer': {'retries': 17}}",
	    "balancer.retries: 17 is out of range (0-16)" },
	{ "{'balancer': {'retries': -1}}",
	    "balancer.retries: -1 is out of range (0-16)" },
	{ "{'balancer': {'links': [{'max_fails': 1001}]}}",
	    "balancer.links[0].max_fails: 1001 is out of range (0-1000)" },
	{ "{'balancer': {'links': [{'max_fails': 1.5}]}}",
	    "balancer.links[0].max_fails: 1.5 is not an integer" },
	{ "{'balancer': {'links': [{'cooldown': 0}]}}",
	    "balancer.links[0].cooldown: 0 is out of range (0 < seconds <= "
	    "86400)" },
	{ "{'balancer': {'links': [{'check': 5}]}}",
	    "balancer.links[0].check: expected an object, got number" },
	{ "{'balancer': {'links': [{'check': {}}]}}",
	    "balancer.links[0].check.target: required" },
	{ "{'balancer': {'links': [{}, {'check': {'target': 'x:80'}}]}}",
	    "balancer.links[1].check.target: \"x:80\" is not an address and "
	    "port (ip:port or [ipv6]:port)" },
	{ "{'balancer': {'links': [{'check': {'target': '10.0.0.1'}}]}}",
	    "balancer.links[0].check.target: \"10.0.0.1\" is not an address "
	    "and port (ip:port or [ipv6]:port)" },
	{ "{'balancer': {'links': [{'check': {'target': '10.0.0.1:1',"
	    " 'port': 1}}]}}",
	    "balancer.links[0].check.port: unknown key" },
	{ "{'balancer': {'links': [{'check': {'target': '10.0.0.1:1',"
	    " 'timeout': 6}}]}}",
	    "balancer.links[0].check.timeout: longer than interval" },
	{ "{'balancer': {'links': [{'check': {'target': '10.0.0.1:1',"
	    " 'interval': 1, 'timeout': 1.5}}]}}",
	    "balancer.links[0].check.timeout: longer than interval" },
	{ "{'balancer': {'links': [{'check': {'target': '10.0.0.1:1',"
	    " 'interval': 0}}]}}",
	    "balancer.links[0].check.interval: 0 is out of range (0 < seconds "
	    "<= 86400)" },
	{ "{'balancer': {'links': [{'check': {'target': '10.0.0.1:1',"
	    " 'fails': 0}}]}}",
	    "balancer.links[0].check.fails: 0 is out of range (1-1000)" },
	{ "{'balancer': {'links': [{'check': {'target': '10.0.0.1:1',"
	    " 'passes': 1001}}]}}",
	    "balancer.links[0].check.passes: 1001 is out of range (1-1000)" },
	/* request matchers */
	{ "{'balancer': {'matchers': [{'fooo': 1}]}}",
	    "balancer.matchers[0].fooo: unknown key" },
	{ "{'balancer': {'matchers': [{'policy': 'deny'}]}}",
	    "balancer.matchers[0].policy: \"deny\" is not one of allow, "
	    "forbid, prioritize, deprioritize" },
	{ "{'balancer': {'matchers': [{'policy': null}]}}",
	    "balancer.matchers[0].policy: expected a string, got null" },
	{ "{'balancer': {'matchers': [{}, {'domains_re': 'x'}]}}",
	    "balancer.matchers[1].domains_re: expected an array, got string" },
	{ "{'balancer': {'matchers': [{'domains_re': ['a', 1]}]}}",
	    "balancer.matchers[0].domains_re[1]: expected a string, got "
	    "number" },
	{ "{'balancer': {'matchers': [{'domains_re': ['(']}]}}",
	    "balancer.matchers[0].domains_re[0]: bad regular expression at "
	    "offset 1: missing closing parenthesis" },
	{ "{'balancer': {'links': [{'matchers': [{'domains_re': ['a', "
	    "'x[']}]}]}}",
	    "balancer.links[0].matchers[0].domains_re[1]: bad regular "
	    "expression at offset 2: missing terminating ] for character "
	    "class" },
	{ "{'balancer': {'matchers': [{'ports': 80}]}}",
	    "balancer.matchers[0].ports: expected an array, got number" },
	{ "{'balancer': {'matchers': [{'ports': [80, 0]}]}}",
	    "balancer.matchers[0].ports[1]: 0 is not a port (1-65535)" },
	{ "{'balancer': {'matchers': [{'ports': [70000]}]}}",
	    "balancer.matchers[0].ports[0]: 70000 is not a port (1-65535)" },
	{ "{'balancer': {'matchers': [{'ports': [443.5]}]}}",
	    "balancer.matchers[0].ports[0]: 443.5 is not an integer" },
	{ "{'balancer': {'matchers': [{'ports': ['90-80']}]}}",
	    "balancer.matchers[0].ports[0]: \"90-80\" is not a port or port "
	    "range (1-65535)" },
	{ "{'balancer': {'matchers': [{'ports': ['80-']}]}}",
	    "balancer.matchers[0].ports[0]: \"80-\" is not a port or port "
	    "range (1-65535)" },
	{ "{'balancer': {'matchers': [{'ports': ['-80']}]}}",
	    "balancer.matchers[0].ports[0]: \"-80\" is not a port or port "
	    "range (1-65535)" },
	{ "{'balancer': {'matchers': [{'ports': ['1-65536']}]}}",
	    "balancer.matchers[0].ports[0]: \"1-65536\" is not a port or port "
	    "range (1-65535)" },
	{ "{'balancer': {'matchers': [{'ports': [' 80']}]}}",
	    "balancer.matchers[0].ports[0]: \" 80\" is not a port or port "
	    "range (1-65535)" },
	{ "{'balancer': {'matchers': [{'ports': ['0']}]}}",
	    "balancer.matchers[0].ports[0]: \"0\" is not a port or port "
	    "range (1-65535)" },
	{ "{'balancer': {'matchers': [{'ports': [1], 'port_ranges': []}]}}",
	    "balancer.matchers[0].port_ranges: use either ports or "
	    "port_ranges" },
	{ "{'balancer': {'matchers': [{'port_ranges': [], 'ports': [1]}]}}",
	    "balancer.matchers[0].ports: use either ports or port_ranges" },
	{ "{'balancer': {'matchers': [{'port_ranges': ['9-8']}]}}",
	    "balancer.matchers[0].port_ranges[0]: \"9-8\" is not a port or "
	    "port range (1-65535)" },
	{ "{'balancer': {'matchers': [{'ports': [true]}]}}",
	    "balancer.matchers[0].ports[0]: expected a number or a string, "
	    "got boolean" },
	{ "{'balancer': {'matchers': [{'domains': ['a b']}]}}",
	    "balancer.matchers[0].domains[0]: \"a b\" is not a domain name" },
	{ "{'balancer': {'matchers': [{'domains': ['*.']}]}}",
	    "balancer.matchers[0].domains[0]: \"*.\" is not a domain name" },
	{ "{'balancer': {'matchers': [{'domains': ['.']}]}}",
	    "balancer.matchers[0].domains[0]: \".\" is not a domain name" },
	{ "{'balancer': {'matchers': [{'domains': ['']}]}}",
	    "balancer.matchers[0].domains[0]: \"\" is not a domain name" },
	{ "{'balancer': {'matchers': [{'domains': ['a..b']}]}}",
	    "balancer.matchers[0].domains[0]: \"a..b\" is not a domain name" },
	{ "{'balancer': {'matchers': [{'domains': ['a.com..']}]}}",
	    "balancer.matchers[0].domains[0]: \"a.com..\" is not a domain "
	    "name" },
	{ "{'balancer': {'matchers': [{'domains': ['a.*.com']}]}}",
	    "balancer.matchers[0].domains[0]: \"a.*.com\" is not a domain "
	    "name" },
	{ "{'balancer': {'matchers': [{'domains': [1]}]}}",
	    "balancer.matchers[0].domains[0]: expected a string, got number" },
	{ "{'balancer': {'matchers': [{'ips': ['10.0.0.0/33']}]}}",
	    "balancer.matchers[0].ips[0]: \"10.0.0.0/33\" is not an address or "
	    "CIDR prefix" },
	{ "{'balancer': {'matchers': [{'ips': ['::/129']}]}}",
	    "balancer.matchers[0].ips[0]: \"::/129\" is not an address or CIDR "
	    "prefix" },
	{ "{'balancer': {'matchers': [{'ips': ['10.0.0.0/']}]}}",
	    "balancer.matchers[0].ips[0]: \"10.0.0.0/\" is not an address or "
	    "CIDR prefix" },
	{ "{'balancer': {'matchers': [{'ips': ['10.0.0.0/8x']}]}}",
	    "balancer.matchers[0].ips[0]: \"10.0.0.0/8x\" is not an address or "
	    "CIDR prefix" },
	{ "{'balancer': {'matchers': [{'ips': ['/8']}]}}",
	    "balancer.matchers[0].ips[0]: \"/8\" is not an address or CIDR "
	    "prefix" },
	{ "{'balancer': {'matchers': [{'ips': ['example.com']}]}}",
	    "balancer.matchers[0].ips[0]: \"example.com\" is not an address or "
	    "CIDR prefix" },
	{ "{'balancer': {'matchers': [{'clients': ['10.0.0.1', 'x/1']}]}}",
	    "balancer.matchers[0].clients[1]: \"x/1\" is not an address or "
	    "CIDR prefix" },
	{ "{'balancer': {'matchers': [{'clients': [1]}]}}",
	    "balancer.matchers[0].clients[0]: expected a string, got number" },
	{ "{'balancer': {'matchers': [{'clients': {}}]}}",
	    "balancer.matchers[0].clients: expected an array, got object" },
	{ "{'balancer': {'matchers': [{'ips': [], 'ips': []}]}}",
	    "balancer.matchers[0].ips: duplicate key" },
	/* resolver and racing keys */
	{ "{'nameservers_backup': 'system'}",
	    "nameservers_backup: \"system\" is not a nameserver (ip, ip:port "
	    "or [ipv6]:port)" },
	{ "{'nameservers_backup': 5}",
	    "nameservers_backup: expected a string or an array, got number" },
	{ "{'nameservers_backup': ['9.9.9.9', '9.9.9.9:0']}",
	    "nameservers_backup[1]: \"9.9.9.9:0\" is not a nameserver (ip, "
	    "ip:port or [ipv6]:port)" },
	{ "{'nameservers_backup': ''}",
	    "nameservers_backup: must not be empty" },
	{ "{'ip_blacklist': '10.0.0.1'}",
	    "ip_blacklist: expected an array, got string" },
	{ "{'ip_blacklist': ['10.0.0.1', '10.0.0.0/33']}",
	    "ip_blacklist[1]: \"10.0.0.0/33\" is not an address or CIDR "
	    "prefix" },
	{ "{'ip_blacklist': [1]}",
	    "ip_blacklist[0]: expected a string, got number" },
	{ "{'IpBlacklist': ['1.2.3.4', 'x']}",
	    "IpBlacklist[1]: \"x\" is not an address or CIDR prefix" },
	{ "{'ip_blacklist': [], 'ip_blacklist': []}",
	    "ip_blacklist: duplicate key" },
	{ "{'deny_targets': '169.254.0.0/16'}",
	    "deny_targets: expected an array, got string" },
	{ "{'deny_targets': ['169.254.0.0/16', 'fe80::/129']}",
	    "deny_targets[1]: \"fe80::/129\" is not an address or CIDR "
	    "prefix" },
	{ "{'deny_targets': [null]}",
	    "deny_targets[0]: expected a string, got null" },
	{ "{'deny_targets': [], 'deny_targets': []}",
	    "deny_targets: duplicate key" },
	{ "{'dns_min_ttl': -1}", "dns_min_ttl: -1 is out of range (0-86400)" },
	{ "{'dns_min_ttl': 86401}",
	    "dns_min_ttl: 86401 is out of range (0-86400)" },
	{ "{'dns_min_ttl': 1.5}", "dns_min_ttl: 1.5 is not an integer" },
	{ "{'dns_min_ttl': '30'}",
	    "dns_min_ttl: expected a number, got string" },
	{ "{'dns_max_ttl': 0}", "dns_max_ttl: 0 is out of range (1-604800)" },
	{ "{'dns_max_ttl': 604801}",
	    "dns_max_ttl: 604801 is out of range (1-604800)" },
	{ "{'dns_min_ttl': 100, 'dns_max_ttl': 99}",
	    "dns_max_ttl: 99 is less than dns_min_ttl (100)" },
	{ "{'dns_min_ttl': 3601}",
	    "dns_min_ttl: 3601 is more than dns_max_ttl (3600)" },
	{ "{'dns_max_ttl': 29}",
	    "dns_max_ttl: 29 is less than dns_min_ttl (30)" },
	{ "{'dns_negative_ttl': 86401}",
	    "dns_negative_ttl: 86401 is out of range (0-86400)" },
	{ "{'dns_negative_ttl': -1}",
	    "dns_negative_ttl: -1 is out of range (0-86400)" },
	{ "{'dns_cache_size': 1000001}",
	    "dns_cache_size: 1000001 is out of range (0-1000000)" },
	{ "{'dns_cache_size': true}",
	    "dns_cache_size: expected a number, got boolean" },
	{ "{'hijack_check_interval': 86401}",
	    "hijack_check_interval: 86401 is out of range (0-86400)" },
	{ "{'hijack_check_interval': 0.5}",
	    "hijack_check_interval: 0.5 is not an integer" },
	{ "{'hijack_probes': '192.0.2.1'}",
	    "hijack_probes: expected an array, got string" },
	{ "{'hijack_probes': ['192.0.2.1', 'probe.example']}",
	    "hijack_probes[1]: \"probe.example\" is not an address (ip, "
	    "ip:port or [ipv6]:port)" },
	{ "{'hijack_probes': ['[192.0.2.1]:53']}",
	    "hijack_probes[0]: \"[192.0.2.1]:53\" is not an address (ip, "
	    "ip:port or [ipv6]:port)" },
	{ "{'hijack_probes': [53]}",
	    "hijack_probes[0]: expected a string, got number" },
	{ "{'happy_eyeballs_delay': 0}",
	    "happy_eyeballs_delay: 0 is out of range (0 < seconds <= 86400)" },
	{ "{'happy_eyeballs_delay': '250ms'}",
	    "happy_eyeballs_delay: expected a number, got string" },
	{ "{'route_cache_ttl': 86401}",
	    "route_cache_ttl: 86401 is out of range (0-86400)" },
	{ "{'route_cache_ttl': -0.5}",
	    "route_cache_ttl: -0.5 is not an integer" },
	{ "{'balancer': {'links': [{'selectable': 1}]}}",
	    "balancer.links[0].selectable: expected a boolean, got number" },
	{ "{'balancer': {'links': [{'selectable': false}]}}",
	    "balancer.links: no selectable link" },
	{ "{'balancer': {'links': [{'name': 'wan', 'selectable': false},"
	    " {'protocol': 'socks5', 'domain': 'h', 'port': 1, 'via': 'wan',"
	    " 'selectable': false}]}}",
	    "balancer.links: no selectable link" },
	{ "{'balancer': {'links': [{'source': '192.0.2.1',"
	    " 'source_port': 65536}]}}",
	    "balancer.links[0].source_port: 65536 is not a port (0-65535)" },
	{ "{'balancer': {'links': [{'source': '192.0.2.1',"
	    " 'source_port': -1}]}}",
	    "balancer.links[0].source_port: -1 is not a port (0-65535)" },
	{ "{'balancer': {'links': [{'source': '192.0.2.1',"
	    " 'source_port': '80'}]}}",
	    "balancer.links[0].source_port: expected a number, got string" },
	{ "{'balancer': {'links': [{}, {'source_port': 0}]}}",
	    "balancer.links[1].source: required with source_port" },
	/* a sluice document keeps its log_level strict */
	{ "{'log_level': 'INDO'}",
	    "log_level: \"INDO\" is not one of error, warn, warning, info, "
	    "debug" },
	{ "{'log_level': 'critical'}",
	    "log_level: \"critical\" is not one of error, warn, warning, info, "
	    "debug" },
	/* TcpRoute's upstream tree */
	{ "{'upstream': {'type': 'direct'}, 'balancer': {}}",
	    "upstream: cannot be combined with balancer" },
	{ "{'balancer': {'links': []}, 'upstream': {'type': 'direct'}}",
	    "upstream: cannot be combined with balancer" },
	{ "{'upstream': 5}", "upstream: expected an object, got number" },
	{ "{'upstream': null}", "upstream: expected an object, got null" },
	{ "{'upstream': {}}", "upstream.type: required" },
	{ "{'upstream': {'type': 'foo'}}",
	    "upstream.type: \"foo\" is not one of multipath, direct, socks5" },
	{ "{'upstream': {'type': 'Direct'}}",
	    "upstream.type: \"Direct\" is not one of multipath, direct, "
	    "socks5" },
	{ "{'upstream': {'type': 5}}",
	    "upstream.type: expected a string, got number" },
	{ "{'upstream': {'type': 'direct', 'type': 'direct'}}",
	    "upstream.type: duplicate key" },
	{ "{'upstream': {'type': 'multipath'}}", "upstream.list: required" },
	{ "{'upstream': {'type': 'multipath', 'list': []}}",
	    "upstream.list: must not be empty" },
	{ "{'upstream': {'type': 'multipath', 'list': {}}}",
	    "upstream.list: expected an array, got object" },
	{ "{'upstream': {'type': 'multipath', 'list': [5]}}",
	    "upstream.list[0]: expected an object, got number" },
	{ "{'upstream': {'type': 'multipath', 'list': [{'type': 'direct'},"
	    " {'type': 'multipath', 'list': []}]}}",
	    "upstream.list[1].list: must not be empty" },
	{ "{'upstream': {'type': 'multipath', 'list': [{'type': 'direct'}],"
	    " 'host': 'h'}}",
	    "upstream.host: unknown key" },
	{ "{'upstream': {'type': 'direct', 'host': 'h'}}",
	    "upstream.host: unknown key" },
	{ "{'upstream': {'type': 'direct', 'upstream': {'type': 'direct'}}}",
	    "upstream.upstream: unknown key" },
	{ "{'upstream': {'type': 'direct', 'source_ip': 'localhost'}}",
	    "upstream.source_ip: \"localhost\" is not an IP address literal" },
	{ "{'upstream': {'type': 'direct', 'source_ip': ''}}",
	    "upstream.source_ip: must not be empty" },
	{ "{'upstream': {'type': 'direct', 'source_ip': 0}}",
	    "upstream.source_ip: expected a string, got number" },
	{ "{'upstream': {'type': 'direct', 'source_port': 70000}}",
	    "upstream.source_port: 70000 is not a port (0-65535)" },
	{ "{'upstream': {'type': 'direct', 'source_port': 1.5}}",
	    "upstream.source_port: 1.5 is not an integer" },
	{ "{'upstream': {'type': 'socks5', 'port': 1080}}",
	    "upstream.host: required" },
	{ "{'upstream': {'type': 'socks5', 'host': '', 'port': 1080}}",
	    "upstream.host: required" },
	{ "{'upstream': {'type': 'socks5', 'host': 'a b', 'port': 1080}}",
	    "upstream.host: \"a b\" is not a host name or IP address" },
	{ "{'upstream': {'type': 'socks5', 'host': 'h'}}",
	    "upstream.port: required" },
	{ "{'upstream': {'type': 'socks5', 'host': 'h', 'port': 0}}",
	    "upstream.port: 0 is not a port (1-65535)" },
	{ "{'upstream': {'type': 'multipath', 'list': [{'type': 'direct'},"
	    " {'type': 'socks5', 'host': 'h', 'port': 70000}]}}",
	    "upstream.list[1].port: 70000 is not a port (1-65535)" },
	{ "{'upstream': {'type': 'socks5', 'host': 'h', 'port': 1,"
	    " 'username': 'u'}}",
	    "upstream.username: unknown key" },
	{ "{'upstream': {'type': 'socks5', 'host': 'h', 'port': 1,"
	    " 'upstream': 5}}",
	    "upstream.upstream: expected an object, got number" },
	{ "{'upstream': {'type': 'socks5', 'host': 'h', 'port': 1,"
	    " 'upstream': {}}}",
	    "upstream.upstream.type: required" },
	{ "{'upstream': {'type': 'socks5', 'host': 'h', 'port': 1,"
	    " 'upstream': {'type': 'multipath', 'list': [{'type': 'direct'}]}"
	    "}}",
	    "upstream.upstream.type: a socks5 upstream cannot be multipath" },
	{ "{'upstream': {'type': 'multipath', 'list': [{'type': 'direct'},"
	    " {'type': 'socks5', 'host': 'h', 'port': 1, 'upstream':"
	    " {'type': 'direct', 'source_ip': '1.2.3'}}]}}",
	    "upstream.list[1].upstream.source_ip: \"1.2.3\" is not an IP "
	    "address literal" },
	{ "{'upstream': {'type': 'multipath', 'list': [{'type': 'direct'},"
	    " {'type': 'socks5', 'host': 'h', 'port': 1, 'upstream':"
	    " {'type': 'socks5', 'host': 'h2', 'upstream': {'type': 'direct'}}"
	    "}]}}",
	    "upstream.list[1].upstream.port: required" },
	{ "{'upstream': {'type': 'socks5', 'host': 'h', 'port': 1,"
	    " 'upstream': {'type': 'bogus'}}}",
	    "upstream.upstream.type: \"bogus\" is not one of multipath, "
	    "direct, socks5" },
	/* a TcpRoute document takes sluice's keys, and only those */
	{ "{'upstream': {'type': 'direct'}, 'logLevel': 'INFO'}",
	    "logLevel: unknown key" },
	{ "{'upstream': {'type': 'direct'}, 'log_level': 5}",
	    "log_level: expected a string, got number" },
	{ "{'upstream': {'type': 'direct'}, 'port': 70000}",
	    "port: 70000 is not a port (1-65535)" },
	{ "{'upstream': {'type': 'direct'}, 'IpBlacklist': ['a']}",
	    "IpBlacklist[0]: \"a\" is not an address or CIDR prefix" },
	/* long values are cut in messages */
	{ "{'log_level': 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'}",
	    "log_level: \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaa...\" is not one of error, warn, warning, "
	    "info, debug" },
};

START_TEST(test_bad)
{
	must_fail(bad[_i].json, bad[_i].err);
}
END_TEST

START_TEST(test_error_buffer)
{
	struct sl_conf	*conf;
	char		 err[8];

	memset(err, 'x', sizeof(err));
	ck_assert_int_eq(try_parse("{'port': 0}", &conf, err, sizeof(err)),
	    -1);
	ck_assert_str_eq(err, "port: 0");
	ck_assert_int_eq(try_parse("{'port': 0}", &conf, NULL, 0), -1);
	ck_assert_ptr_null(conf);
	ck_assert_int_eq(try_parse("{}", &conf, NULL, 0), 0);
	conf_free(conf);
	conf_free(NULL);
}
END_TEST

START_TEST(test_too_big)
{
	struct sl_conf	*conf;
	char		 err[128];

	/* The size is checked before any byte is read. */
	ck_assert_int_eq(conf_parse("{}", SL_MAX_CONF_BYTES + 1, &conf, err,
	    sizeof(err)), -1);
	ck_assert_str_eq(err, "config: larger than 16777216 bytes");
	ck_assert_int_eq(conf_parse("{}\0", 3, &conf, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "config: invalid JSON near byte 2");
}
END_TEST

TCase *
config_errors_tcase(void)
{
	TCase	*tc;

	tc = tcase_create("errors");
	tcase_add_loop_test(tc, test_bad, 0, (int)(sizeof(bad) /
	    sizeof(bad[0])));
	tcase_add_test(tc, test_error_buffer);
	tcase_add_test(tc, test_too_big);
	return tc;
}
