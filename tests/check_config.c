/*
 * Configuration loader tests: PythTRT's documented format loads as is,
 * sluice's own keys land in the right fields, and every rejected input
 * names the JSON path and the problem exactly as the user will see it.
 *
 * Most documents are written with single quotes to keep them readable;
 * dq() turns them into JSON.  None of the test documents needs a single
 * quote of its own.
 */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "policy/config.h"

/* PythTRT's README example, byte for byte: it must load unchanged. */
static const char pythtrt_example[] =
"{\n"
"  \"balancer\": {\n"
"    \"links\": [\n"
"      {\n"
"        \"protocol\": \"socks5\",\n"
"        \"domain\": \"127.0.0.1\",\n"
"        \"port\": 1081,\n"
"        \"matchers\": [\n"
"          {\n"
"            \"domains_re\": [\n"
"              \"\\\\.intranet.com$\"\n"
"            ],\n"
"            \"policy\": \"forbid\"\n"
"          }\n"
"        ]\n"
"      },\n"
"      {\n"
"        \"matchers\": [\n"
"          {\n"
"            \"domains_re\": [\n"
"              \"\\\\.intranet.com$\"\n"
"            ],\n"
"            \"policy\": \"allow\"\n"
"          }\n"
"        ]\n"
"      }\n"
"    ],\n"
"    \"matchers\": [\n"
"      {\n"
"        \"policy\": \"allow\",\n"
"        \"ports\": [\n"
"          80,\n"
"          443,\n"
"          8080\n"
"        ]\n"
"      }\n"
"    ]\n"
"  }\n"
"}\n";

/* TcpRoute's README example, byte for byte, "INDO" included. */
static const char tcproute_example[] =
"{\n"
"  \"log_level\":\"INDO\",\n"
"  \"port\":7070,\n"
"  \"nameservers\":\"system\",\n"
"  \"nameservers_backup\":[\"8.8.8.8\",\"8.8.4.4\",\"208.67.222.222\","
"\"208.67.220.220\"],\n"
"  \"upstream\":\n"
"  {\n"
"    \"type\":\"multipath\",\n"
"    \"list\":\n"
"    [\n"
"      {\n"
"        \"type\":\"direct\",\n"
"        \"source_ip\":\"0.0.0.0\",\n"
"        \"source_port\":0\n"
"      },\n"
"      {\n"
"        \"type\":\"socks5\",\n"
"        \"host\":\"127.0.0.1\",\n"
"        \"port\":5555,\n"
"        \"upstream\":\n"
"        {\n"
"          \"type\":\"direct\",\n"
"          \"source_ip\":\"0.0.0.0\",\n"
"          \"source_port\":0\n"
"        }\n"
"      }\n"
"    ]\n"
"  },\n"
"  \"IpBlacklist\":[]\n"
"}\n";

/* A copy of contrib/sluice.json; test_contrib_file checks the file. */
static const char contrib_copy[] =
"{\n"
"  \"domain\": \"127.0.0.1\",\n"
"  \"port\": 1080,\n"
"  \"timeout\": 5,\n"
"  \"max_threads\": 200,\n"
"  \"user\": \"nobody\",\n"
"  \"workers\": 2,\n"
"  \"chroot\": \"/var/empty\",\n"
"  \"log_level\": \"info\",\n"
"  \"idle_timeout\": 300,\n"
"  \"shutdown_timeout\": 10,\n"
"  \"splice\": true,\n"
"  \"nameservers\": \"system\",\n"
"  \"resolve_timeout\": 5,\n"
"  \"balancer\": {\n"
"    \"strategy\": \"round_robin\",\n"
"    \"links\": [\n"
"      {\n"
"        \"name\": \"direct\",\n"
"        \"protocol\": \"direct\"\n"
"      }\n"
"    ]\n"
"  }\n"
"}\n";

/* Every key sluice knows, none at its default. */
static const char full_config[] =
"{'listen': ['127.0.0.1:1080', '[::1]:1081'],"
" 'timeout': 2.5, 'max_threads': 500, 'user': '_sluice', 'workers': 4,"
" 'chroot': '/var/lib/sluice', 'shutdown_timeout': 0,"
" 'log_level': 'DEBUG', 'idle_timeout': 60, 'splice': false,"
" 'resolve_timeout': 0.5,"
" 'nameservers': ['9.9.9.9', '[2620:fe::fe]:5353', '1.1.1.1:53'],"
" 'balancer': {'strategy': 'failover', 'retries': 3,"
"  'matchers': [{'policy': 'forbid', 'clients': ['192.0.2.0/24']}],"
"  'links': ["
"   {'name': 'wan0', 'interface': 'eth0', 'source': '192.0.2.10',"
"    'timeout': 3, 'weight': 3, 'max_connections': 100,"
"    'max_fails': 0, 'cooldown': 2.5, 'check': {'target': '192.0.2.1:80',"
"     'interval': 1, 'timeout': 0.5, 'fails': 4, 'passes': 3}},"
"   {'name': 'hop1', 'protocol': 'socks5', 'domain': 'proxy.example.net',"
"    'port': 1081, 'username': 'u', 'password': 'p', 'via': 'wan0'},"
"   {'name': 'hop2', 'protocol': 'socks5', 'domain': '2001:db8::7',"
"    'port': 9050, 'via': 'hop1', 'source': '2001:db8::1',"
"    'matchers': [{'policy': 'prioritize', 'domains': ['*.Onion.'],"
"     'ports': [80, '443', '8000-8999'],"
"     'ips': ['10.1.2.3/8', '2001:dbff:ffff::/20']},"
"     {'policy': 'deprioritize', 'domains_re': ['^a', 'b$'],"
"      'port_ranges': ['1-1023']},"
"     {}]}]}}";

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
	/* links */
	{ "{'balancer': {'links': [5]}}",
	    "balancer.links[0]: expected an object, got number" },
	{ "{'balancer': {'links': [{'fooo': 1}]}}",
	    "balancer.links[0].fooo: unknown key" },
	{ "{'balancer': {'links': [{'protocol': 'http'}]}}",
	    "balancer.links[0].protocol: \"http\" is not one of direct, "
	    "socks5" },
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

/* Single quotes to double quotes, in a buffer of exactly len bytes. */
static char *
dq(const char *sq, size_t *len)
{
	char	*s;
	size_t	 i;

	*len = strlen(sq);
	s = malloc(*len > 0 ? *len : 1);
	ck_assert_ptr_nonnull(s);
	for (i = 0; i < *len; i++)
		s[i] = sq[i] == '\'' ? '"' : sq[i];
	return s;
}

static int
try_parse(const char *sq, struct sl_conf **conf, char *err, size_t errlen)
{
	char	*text;
	size_t	 len;
	int	 rc;

	/* Not NUL-terminated: ASan catches any read past len. */
	text = dq(sq, &len);
	rc = conf_parse(text, len, conf, err, errlen);
	free(text);
	return rc;
}

static struct sl_conf *
must_parse(const char *sq)
{
	struct sl_conf	*conf = NULL;
	char		 err[512];

	ck_assert_msg(try_parse(sq, &conf, err, sizeof(err)) == 0,
	    "%s: %s", sq, err);
	ck_assert_ptr_nonnull(conf);
	return conf;
}

static void
must_fail(const char *sq, const char *want)
{
	struct sl_conf	*conf = (struct sl_conf *)1;
	char		 err[512];

	ck_assert_int_eq(try_parse(sq, &conf, err, sizeof(err)), -1);
	ck_assert_ptr_null(conf);
	ck_assert_str_eq(err, want);
}

/* A growing string for documents too big to write out. */
struct buf {
	char	*s;
	size_t	 len, cap;
};

static void
add(struct buf *b, const char *s)
{
	size_t	n = strlen(s);

	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->s = realloc(b->s, b->cap);
		ck_assert_ptr_nonnull(b->s);
	}
	memcpy(b->s + b->len, s, n + 1);
	b->len += n;
}

static void
add_repeat(struct buf *b, const char *item, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		if (i > 0)
			add(b, ",");
		add(b, item);
	}
}

static uint16_t
sa_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
}

static void
check_addr(const struct sockaddr_storage *ss, socklen_t len, int af,
    const char *ip, uint16_t port)
{
	char		 buf[INET6_ADDRSTRLEN];
	const void	*a;

	ck_assert_int_eq(ss->ss_family, af);
	if (af == AF_INET) {
		ck_assert_uint_eq(len, sizeof(struct sockaddr_in));
		a = &((const struct sockaddr_in *)ss)->sin_addr;
	} else {
		ck_assert_uint_eq(len, sizeof(struct sockaddr_in6));
		a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
	}
	ck_assert_ptr_nonnull(inet_ntop(af, a, buf, sizeof(buf)));
	ck_assert_str_eq(buf, ip);
	ck_assert_uint_eq(sa_port(ss), port);
}

static void
check_cidr(const struct sl_cidr *c, int af, const char *ip, int prefix)
{
	char	buf[INET6_ADDRSTRLEN];

	ck_assert_int_eq(c->family, af);
	ck_assert_ptr_nonnull(inet_ntop(af, c->addr, buf, sizeof(buf)));
	ck_assert_str_eq(buf, ip);
	ck_assert_int_eq(c->prefix, prefix);
}

static int
re_matches(pcre2_code *re, const char *subject)
{
	pcre2_match_data	*md;
	int			 rc;

	md = pcre2_match_data_create_from_pattern(re, NULL);
	ck_assert_ptr_nonnull(md);
	rc = pcre2_match(re, (PCRE2_SPTR)subject, strlen(subject), 0, 0, md,
	    NULL);
	pcre2_match_data_free(md);
	return rc >= 0;
}

/* Defaults for everything but the listener and the links. */
static void
check_defaults(const struct sl_conf *conf)
{
	ck_assert_uint_eq(conf->handshake_timeout_ms, 5000);
	ck_assert_uint_eq(conf->idle_timeout_ms, 300000);
	ck_assert_uint_eq(conf->max_sessions, 200);
	ck_assert_str_eq(conf->user, "nobody");
	ck_assert_uint_eq(conf->workers, 0);
	ck_assert_str_eq(conf->chroot, "/var/empty");
	ck_assert_uint_eq(conf->shutdown_timeout_s, 10);
	ck_assert_int_eq(conf->log_level, SL_LOG_INFO);
	ck_assert_int_eq(conf->splice, 1);
	ck_assert_uint_eq(conf->resolve_timeout_ms, 5000);
	ck_assert_int_eq(conf->nameservers_system, 1);
	ck_assert_uint_eq(conf->nnameservers, 0);
	ck_assert_uint_eq(conf->nnameservers_backup, 0);
	ck_assert_uint_eq(conf->nip_blacklist, 0);
	ck_assert_uint_eq(conf->dns_min_ttl_s, 30);
	ck_assert_uint_eq(conf->dns_max_ttl_s, 3600);
	ck_assert_uint_eq(conf->dns_negative_ttl_s, 30);
	ck_assert_uint_eq(conf->dns_cache_size, 10000);
	ck_assert_uint_eq(conf->hijack_interval_s, 600);
	ck_assert_uint_eq(conf->nhijack_probes, 0);
	ck_assert_uint_eq(conf->happy_eyeballs_ms, 250);
	ck_assert_uint_eq(conf->route_cache_ttl_s, 600);
	ck_assert_int_eq(conf->strategy, SL_STRAT_ROUND_ROBIN);
	ck_assert_uint_eq(conf->retries, 1);
}

static void
check_direct_default(const struct sl_link *l, const char *name)
{
	ck_assert_str_eq(l->name, name);
	ck_assert_int_eq(l->proto, SL_LINK_DIRECT);
	ck_assert_int_eq(l->selectable, 1);
	ck_assert_str_eq(l->interface, "");
	ck_assert_uint_eq(l->sourcelen, 0);
	ck_assert_str_eq(l->host, "");
	ck_assert_uint_eq(l->port, 0);
	ck_assert_str_eq(l->username, "");
	ck_assert_str_eq(l->password, "");
	ck_assert_int_eq(l->via, -1);
	ck_assert_uint_eq(l->timeout_ms, 10000);
	ck_assert_uint_eq(l->weight, 1);
	ck_assert_uint_eq(l->max_connections, 0);
	ck_assert_uint_eq(l->max_fails, 3);
	ck_assert_uint_eq(l->cooldown_ms, 10000);
	ck_assert_int_eq(l->check.enabled, 0);
}

START_TEST(test_pythtrt_example)
{
	struct sl_conf		*conf = NULL;
	const struct sl_link	*l;
	const struct sl_matcher	*m;
	char			 err[256];

	ck_assert_int_eq(conf_parse(pythtrt_example, strlen(pythtrt_example),
	    &conf, err, sizeof(err)), 0);
	check_defaults(conf);
	ck_assert_uint_eq(conf->nlisteners, 1);
	ck_assert_str_eq(conf->listeners[0].host, "0.0.0.0");
	check_addr(&conf->listeners[0].addr, conf->listeners[0].addrlen,
	    AF_INET, "0.0.0.0", 1080);
	ck_assert_uint_eq(conf->nlinks, 2);

	l = &conf->links[0];
	ck_assert_str_eq(l->name, "link0");
	ck_assert_int_eq(l->proto, SL_LINK_SOCKS5);
	ck_assert_str_eq(l->host, "127.0.0.1");
	ck_assert_uint_eq(l->port, 1081);
	ck_assert_int_eq(l->via, -1);
	ck_assert_uint_eq(l->timeout_ms, 10000);
	ck_assert_uint_eq(l->nmatchers, 1);
	m = &l->matchers[0];
	ck_assert_int_eq(m->policy, SL_POLICY_FORBID);
	ck_assert_uint_eq(m->ndomains_re, 1);
	ck_assert_str_eq(m->domains_re_src[0], "\\.intranet.com$");
	ck_assert(re_matches(m->domains_re[0], "www.intranet.com"));
	ck_assert(!re_matches(m->domains_re[0], "intranet.com"));
	ck_assert(!re_matches(m->domains_re[0], "www.INTRANET.com"));
	ck_assert(!re_matches(m->domains_re[0], "a.intranet.com.evil"));
	ck_assert_uint_eq(m->nports + m->ndomains + m->nips + m->nclients, 0);

	l = &conf->links[1];
	check_direct_default(l, "link1");
	ck_assert_uint_eq(l->nmatchers, 1);
	ck_assert_int_eq(l->matchers[0].policy, SL_POLICY_ALLOW);
	ck_assert(re_matches(l->matchers[0].domains_re[0], "x.intranet.com"));

	ck_assert_uint_eq(conf->nmatchers, 1);
	m = &conf->matchers[0];
	ck_assert_int_eq(m->policy, SL_POLICY_ALLOW);
	ck_assert_uint_eq(m->nports, 3);
	ck_assert_uint_eq(m->ports[0].lo, 80);
	ck_assert_uint_eq(m->ports[0].hi, 80);
	ck_assert_uint_eq(m->ports[1].lo, 443);
	ck_assert_uint_eq(m->ports[2].hi, 8080);
	ck_assert_uint_eq(m->ndomains_re, 0);
	conf_free(conf);
}
END_TEST

START_TEST(test_empty_object)
{
	struct sl_conf	*conf = must_parse(" \n{ }\r\n\t");

	check_defaults(conf);
	ck_assert_uint_eq(conf->nlisteners, 1);
	check_addr(&conf->listeners[0].addr, conf->listeners[0].addrlen,
	    AF_INET, "0.0.0.0", 1080);
	ck_assert_uint_eq(conf->nlinks, 1);
	check_direct_default(&conf->links[0], "direct");
	ck_assert_uint_eq(conf->links[0].nmatchers, 0);
	ck_assert_uint_eq(conf->nmatchers, 0);
	conf_free(conf);
}
END_TEST

/* No links, or an empty list, still relays: one direct link. */
START_TEST(test_empty_links)
{
	struct sl_conf	*conf;

	conf = must_parse("{'balancer': {}}");
	ck_assert_uint_eq(conf->nlinks, 1);
	check_direct_default(&conf->links[0], "direct");
	conf_free(conf);
	conf = must_parse("{'balancer': {'links': [], 'matchers': [],"
	    " 'strategy': 'fastest'}}");
	ck_assert_uint_eq(conf->nlinks, 1);
	check_direct_default(&conf->links[0], "direct");
	ck_assert_int_eq(conf->strategy, SL_STRAT_FASTEST);
	ck_assert_ptr_nonnull(conf->matchers);
	conf_free(conf);
}
END_TEST

static void
check_full_root(const struct sl_conf *conf)
{
	ck_assert_uint_eq(conf->nlisteners, 2);
	ck_assert_str_eq(conf->listeners[0].host, "127.0.0.1");
	check_addr(&conf->listeners[0].addr, conf->listeners[0].addrlen,
	    AF_INET, "127.0.0.1", 1080);
	ck_assert_str_eq(conf->listeners[1].host, "::1");
	check_addr(&conf->listeners[1].addr, conf->listeners[1].addrlen,
	    AF_INET6, "::1", 1081);
	ck_assert_uint_eq(conf->handshake_timeout_ms, 2500);
	ck_assert_uint_eq(conf->max_sessions, 500);
	ck_assert_str_eq(conf->user, "_sluice");
	ck_assert_uint_eq(conf->workers, 4);
	ck_assert_str_eq(conf->chroot, "/var/lib/sluice");
	ck_assert_uint_eq(conf->shutdown_timeout_s, 0);
	ck_assert_int_eq(conf->log_level, SL_LOG_DEBUG);
	ck_assert_uint_eq(conf->idle_timeout_ms, 60000);
	ck_assert_int_eq(conf->splice, 0);
	ck_assert_uint_eq(conf->resolve_timeout_ms, 500);
	ck_assert_int_eq(conf->nameservers_system, 0);
	ck_assert_uint_eq(conf->nnameservers, 3);
	check_addr(&conf->nameservers[0].addr, conf->nameservers[0].addrlen,
	    AF_INET, "9.9.9.9", 53);
	check_addr(&conf->nameservers[1].addr, conf->nameservers[1].addrlen,
	    AF_INET6, "2620:fe::fe", 5353);
	check_addr(&conf->nameservers[2].addr, conf->nameservers[2].addrlen,
	    AF_INET, "1.1.1.1", 53);
	ck_assert_int_eq(conf->strategy, SL_STRAT_FAILOVER);
	ck_assert_uint_eq(conf->retries, 3);
	ck_assert_uint_eq(conf->nmatchers, 1);
	ck_assert_int_eq(conf->matchers[0].policy, SL_POLICY_FORBID);
	ck_assert_uint_eq(conf->matchers[0].nclients, 1);
	check_cidr(&conf->matchers[0].clients[0], AF_INET, "192.0.2.0", 24);
}

static void
check_full_links(const struct sl_link *l)
{
	ck_assert_str_eq(l[0].name, "wan0");
	ck_assert_int_eq(l[0].proto, SL_LINK_DIRECT);
	ck_assert_str_eq(l[0].interface, "eth0");
	check_addr(&l[0].source, l[0].sourcelen, AF_INET, "192.0.2.10", 0);
	ck_assert_uint_eq(l[0].timeout_ms, 3000);
	ck_assert_uint_eq(l[0].weight, 3);
	ck_assert_uint_eq(l[0].max_connections, 100);
	ck_assert_int_eq(l[0].via, -1);
	ck_assert_uint_eq(l[0].max_fails, 0);
	ck_assert_uint_eq(l[0].cooldown_ms, 2500);
	ck_assert_int_eq(l[0].check.enabled, 1);
	check_addr(&l[0].check.target, l[0].check.targetlen, AF_INET,
	    "192.0.2.1", 80);
	ck_assert_uint_eq(l[0].check.interval_ms, 1000);
	ck_assert_uint_eq(l[0].check.timeout_ms, 500);
	ck_assert_uint_eq(l[0].check.fails, 4);
	ck_assert_uint_eq(l[0].check.passes, 3);
	ck_assert_int_eq(l[1].check.enabled, 0);
	ck_assert_uint_eq(l[1].max_fails, 3);

	ck_assert_str_eq(l[1].name, "hop1");
	ck_assert_int_eq(l[1].proto, SL_LINK_SOCKS5);
	ck_assert_str_eq(l[1].host, "proxy.example.net");
	ck_assert_uint_eq(l[1].port, 1081);
	ck_assert_str_eq(l[1].username, "u");
	ck_assert_str_eq(l[1].password, "p");
	ck_assert_int_eq(l[1].via, 0);
	ck_assert_uint_eq(l[1].sourcelen, 0);

	ck_assert_str_eq(l[2].name, "hop2");
	ck_assert_str_eq(l[2].host, "2001:db8::7");
	ck_assert_uint_eq(l[2].port, 9050);
	ck_assert_int_eq(l[2].via, 1);
	check_addr(&l[2].source, l[2].sourcelen, AF_INET6, "2001:db8::1", 0);
	ck_assert_str_eq(l[2].username, "");
}

static void
check_full_matchers(const struct sl_link *l)
{
	const struct sl_matcher	*m = l->matchers;

	ck_assert_uint_eq(l->nmatchers, 3);
	ck_assert_int_eq(m[0].policy, SL_POLICY_PRIORITIZE);
	ck_assert_uint_eq(m[0].ndomains, 1);
	ck_assert_str_eq(m[0].domains[0], "onion");
	ck_assert_uint_eq(m[0].nports, 3);
	ck_assert_uint_eq(m[0].ports[1].lo, 443);
	ck_assert_uint_eq(m[0].ports[1].hi, 443);
	ck_assert_uint_eq(m[0].ports[2].lo, 8000);
	ck_assert_uint_eq(m[0].ports[2].hi, 8999);
	ck_assert_uint_eq(m[0].nips, 2);
	check_cidr(&m[0].ips[0], AF_INET, "10.0.0.0", 8);
	check_cidr(&m[0].ips[1], AF_INET6, "2001:d000::", 20);
	ck_assert_int_eq(m[1].policy, SL_POLICY_DEPRIORITIZE);
	ck_assert_uint_eq(m[1].ndomains_re, 2);
	ck_assert(re_matches(m[1].domains_re[0], "abc"));
	ck_assert(!re_matches(m[1].domains_re[0], "cba"));
	ck_assert(re_matches(m[1].domains_re[1], "cab"));
	ck_assert_uint_eq(m[1].nports, 1);
	ck_assert_uint_eq(m[1].ports[0].lo, 1);
	ck_assert_uint_eq(m[1].ports[0].hi, 1023);
	ck_assert_int_eq(m[2].policy, SL_POLICY_FORBID);
	ck_assert_uint_eq(m[2].nports + m[2].ndomains_re + m[2].ndomains +
	    m[2].nips + m[2].nclients, 0);
}

START_TEST(test_full)
{
	struct sl_conf	*conf = must_parse(full_config);

	check_full_root(conf);
	ck_assert_uint_eq(conf->nlinks, 3);
	check_full_links(conf->links);
	check_full_matchers(&conf->links[2]);
	conf_free(conf);
}
END_TEST

static void
check_contrib(const char *text, size_t len)
{
	struct sl_conf	*conf = NULL;
	char		 err[256];

	ck_assert_msg(conf_parse(text, len, &conf, err, sizeof(err)) == 0,
	    "%s", err);
	ck_assert_uint_eq(conf->nlisteners, 1);
	check_addr(&conf->listeners[0].addr, conf->listeners[0].addrlen,
	    AF_INET, "127.0.0.1", 1080);
	ck_assert_uint_eq(conf->workers, 2);
	ck_assert_str_eq(conf->user, "nobody");
	ck_assert_int_eq(conf->log_level, SL_LOG_INFO);
	ck_assert_int_eq(conf->strategy, SL_STRAT_ROUND_ROBIN);
	ck_assert_uint_eq(conf->nlinks, 1);
	check_direct_default(&conf->links[0], "direct");
	conf->workers = 0;
	check_defaults(conf);
	conf_free(conf);
}

START_TEST(test_contrib_copy)
{
	check_contrib(contrib_copy, strlen(contrib_copy));
}
END_TEST

/* The shipped file; SL_SRCDIR is set by tests/meson.build. */
START_TEST(test_contrib_file)
{
	const char	*dir = getenv("SL_SRCDIR");
	char		 path[4096], text[65536];
	FILE		*f;
	size_t		 len;

	if (dir == NULL) {
		fprintf(stderr, "check_config: SL_SRCDIR unset, "
		    "contrib/sluice.json not checked\n");
		return;
	}
	snprintf(path, sizeof(path), "%s/contrib/sluice.json", dir);
	f = fopen(path, "r");
	ck_assert_msg(f != NULL, "%s: cannot open", path);
	len = fread(text, 1, sizeof(text), f);
	fclose(f);
	ck_assert_uint_lt(len, sizeof(text));
	check_contrib(text, len);
}
END_TEST

START_TEST(test_bad)
{
	must_fail(bad[_i].json, bad[_i].err);
}
END_TEST

START_TEST(test_timeouts)
{
	struct sl_conf	*conf;

	conf = must_parse("{'timeout': 0.25, 'idle_timeout': 86400,"
	    " 'resolve_timeout': 0.0001, 'balancer': {'links': ["
	    "{'timeout': 1e-3}]}}");
	ck_assert_uint_eq(conf->handshake_timeout_ms, 250);
	ck_assert_uint_eq(conf->idle_timeout_ms, 86400000);
	ck_assert_uint_eq(conf->resolve_timeout_ms, 1);
	ck_assert_uint_eq(conf->links[0].timeout_ms, 1);
	conf_free(conf);
}
END_TEST

START_TEST(test_listen_domain)
{
	struct sl_conf	*conf;

	conf = must_parse("{'domain': '::', 'port': 1}");
	ck_assert_str_eq(conf->listeners[0].host, "::");
	check_addr(&conf->listeners[0].addr, conf->listeners[0].addrlen,
	    AF_INET6, "::", 1);
	conf_free(conf);
	conf = must_parse("{'port': 65535}");
	ck_assert_str_eq(conf->listeners[0].host, "0.0.0.0");
	check_addr(&conf->listeners[0].addr, conf->listeners[0].addrlen,
	    AF_INET, "0.0.0.0", 65535);
	conf_free(conf);
	conf = must_parse("{'domain': '10.0.0.1'}");
	check_addr(&conf->listeners[0].addr, conf->listeners[0].addrlen,
	    AF_INET, "10.0.0.1", 1080);
	conf_free(conf);
	/* Same address, other port: two listeners. */
	conf = must_parse("{'listen': ['0.0.0.0:1', '0.0.0.0:2', '[::]:1']}");
	ck_assert_uint_eq(conf->nlisteners, 3);
	ck_assert_str_eq(conf->listeners[2].host, "::");
	check_addr(&conf->listeners[1].addr, conf->listeners[1].addrlen,
	    AF_INET, "0.0.0.0", 2);
	conf_free(conf);
}
END_TEST

START_TEST(test_nameservers)
{
	struct sl_conf	*conf;

	conf = must_parse("{'nameservers': 'system'}");
	ck_assert_int_eq(conf->nameservers_system, 1);
	ck_assert_uint_eq(conf->nnameservers, 0);
	conf_free(conf);
	conf = must_parse("{'nameservers': '192.0.2.53:5353'}");
	ck_assert_int_eq(conf->nameservers_system, 0);
	ck_assert_uint_eq(conf->nnameservers, 1);
	check_addr(&conf->nameservers[0].addr, conf->nameservers[0].addrlen,
	    AF_INET, "192.0.2.53", 5353);
	conf_free(conf);
	/* A bare IPv6 address takes no port: "::1:53" is an address. */
	conf = must_parse("{'nameservers': ['::1:53', '[::1]', "
	    "'[2001:db8::1]:1']}");
	ck_assert_uint_eq(conf->nnameservers, 3);
	check_addr(&conf->nameservers[0].addr, conf->nameservers[0].addrlen,
	    AF_INET6, "::0.1.0.83", 53);
	check_addr(&conf->nameservers[1].addr, conf->nameservers[1].addrlen,
	    AF_INET6, "::1", 53);
	check_addr(&conf->nameservers[2].addr, conf->nameservers[2].addrlen,
	    AF_INET6, "2001:db8::1", 1);
	conf_free(conf);
}
END_TEST

START_TEST(test_log_levels)
{
	static const struct {
		const char	*name;
		int		 level;
	} t[] = {
		{ "error", SL_LOG_ERROR }, { "WARN", SL_LOG_WARN },
		{ "Warning", SL_LOG_WARN }, { "info", SL_LOG_INFO },
		{ "debug", SL_LOG_DEBUG },
	};
	struct sl_conf	*conf;
	char		 doc[64];
	size_t		 i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		snprintf(doc, sizeof(doc), "{'log_level': '%s'}", t[i].name);
		conf = must_parse(doc);
		ck_assert_int_eq(conf->log_level, t[i].level);
		conf_free(conf);
	}
}
END_TEST

START_TEST(test_names)
{
	static const char *const strat[] = { "round_robin", "random_link",
	    "least_connections", "failover", "fastest" };
	static const char *const pol[] = { "allow", "forbid", "prioritize",
	    "deprioritize" };
	struct sl_conf	*conf;
	char		 doc[128];
	size_t		 i;

	for (i = 0; i < 5; i++) {
		ck_assert_str_eq(conf_strategy_name((enum sl_strategy)i),
		    strat[i]);
		snprintf(doc, sizeof(doc), "{'balancer': {'strategy': '%s'}}",
		    strat[i]);
		conf = must_parse(doc);
		ck_assert_uint_eq(conf->strategy, i);
		conf_free(conf);
	}
	for (i = 0; i < 4; i++) {
		ck_assert_str_eq(conf_policy_name((enum sl_policy)i), pol[i]);
		snprintf(doc, sizeof(doc),
		    "{'balancer': {'matchers': [{'policy': '%s'}]}}", pol[i]);
		conf = must_parse(doc);
		ck_assert_uint_eq(conf->matchers[0].policy, i);
		conf_free(conf);
	}
	ck_assert_str_eq(conf_strategy_name((enum sl_strategy)99), "unknown");
	ck_assert_str_eq(conf_policy_name((enum sl_policy)99), "unknown");
}
END_TEST

/* Values PythTRT writes for "not set" on a direct link are accepted. */
START_TEST(test_pythtrt_explicit_defaults)
{
	struct sl_conf	*conf;

	conf = must_parse("{'domain': '0.0.0.0', 'port': 1080, 'timeout': 5,"
	    " 'max_threads': 200, 'balancer': {'strategy': 'round_robin',"
	    " 'links': [{'protocol': 'direct', 'domain': '', 'port': 0,"
	    " 'interface': '', 'timeout': 10, 'weight': 1,"
	    " 'matchers': [{'policy': 'forbid', 'domains_re': [],"
	    " 'ports': []}]}], 'matchers': []}}");
	check_defaults(conf);
	check_direct_default(&conf->links[0], "link0");
	ck_assert_uint_eq(conf->links[0].nmatchers, 1);
	ck_assert_int_eq(conf->links[0].matchers[0].policy, SL_POLICY_FORBID);
	conf_free(conf);
}
END_TEST

/* A check with only its target: the documented defaults. */
START_TEST(test_check_defaults)
{
	struct sl_conf		*conf;
	const struct sl_link	*l;

	conf = must_parse("{'balancer': {'retries': 0, 'links': [{'check':"
	    " {'target': '[::1]:8080'}}, {'max_fails': 1000, 'cooldown': 86400,"
	    " 'check': {'target': '10.0.0.1:1', 'interval': 2, 'timeout': 2}}"
	    "]}}");
	ck_assert_uint_eq(conf->retries, 0);
	l = &conf->links[0];
	ck_assert_int_eq(l->check.enabled, 1);
	check_addr(&l->check.target, l->check.targetlen, AF_INET6, "::1",
	    8080);
	ck_assert_uint_eq(l->check.interval_ms, 5000);
	ck_assert_uint_eq(l->check.timeout_ms, 2000);
	ck_assert_uint_eq(l->check.fails, 2);
	ck_assert_uint_eq(l->check.passes, 1);
	ck_assert_uint_eq(l->max_fails, 3);
	ck_assert_uint_eq(l->cooldown_ms, 10000);
	l = &conf->links[1];
	ck_assert_uint_eq(l->max_fails, 1000);
	ck_assert_uint_eq(l->cooldown_ms, 86400000);
	ck_assert_uint_eq(l->check.interval_ms, 2000);
	ck_assert_uint_eq(l->check.timeout_ms, 2000);
	conf_free(conf);
}
END_TEST

START_TEST(test_matcher_values)
{
	struct sl_conf		*conf;
	const struct sl_matcher	*m;

	conf = must_parse("{'balancer': {'matchers': [{'ports': ['1-65535',"
	    " 65535, '22'], 'domains': ['.Foo.ORG', 'bar', 'x_y-z.', "
	    "'*.a.b'], 'ips': ['10.1.255.255/20', '0.0.0.0/0', '::1',"
	    " '192.0.2.1', 'ffff::ffff/1', '2001:db8::ff/127'],"
	    " 'domains_re': ['']}]}}");
	m = &conf->matchers[0];
	ck_assert_uint_eq(m->ports[0].lo, 1);
	ck_assert_uint_eq(m->ports[0].hi, 65535);
	ck_assert_uint_eq(m->ports[1].lo, 65535);
	ck_assert_uint_eq(m->ports[2].lo, 22);
	ck_assert_uint_eq(m->ports[2].hi, 22);
	ck_assert_str_eq(m->domains[0], "foo.org");
	ck_assert_str_eq(m->domains[1], "bar");
	ck_assert_str_eq(m->domains[2], "x_y-z");
	ck_assert_str_eq(m->domains[3], "a.b");
	check_cidr(&m->ips[0], AF_INET, "10.1.240.0", 20);
	check_cidr(&m->ips[1], AF_INET, "0.0.0.0", 0);
	check_cidr(&m->ips[2], AF_INET6, "::1", 128);
	check_cidr(&m->ips[3], AF_INET, "192.0.2.1", 32);
	check_cidr(&m->ips[4], AF_INET6, "8000::", 1);
	check_cidr(&m->ips[5], AF_INET6, "2001:db8::fe", 127);
	ck_assert(re_matches(m->domains_re[0], "anything"));
	conf_free(conf);
}
END_TEST

/* A direct link "wan", then n socks5 links, each through the one before. */
static char *
chain_doc(size_t n)
{
	struct buf	b = { NULL, 0, 0 };
	char		item[160], via[32];
	size_t		i;

	add(&b, "{'balancer': {'links': [{'name': 'wan'}");
	for (i = 0; i < n; i++) {
		if (i == 0)
			snprintf(via, sizeof(via), "wan");
		else
			snprintf(via, sizeof(via), "link%zu", i);
		snprintf(item, sizeof(item), ", {'protocol': 'socks5', "
		    "'domain': 'h%zu', 'port': 1080, 'via': '%s'}", i, via);
		add(&b, item);
	}
	add(&b, "]}}");
	return b.s;
}

/* SL_MAX_CHAIN socks5 hops are fine, one more is not. */
START_TEST(test_chain_depth)
{
	struct sl_conf	*conf;
	char		*doc, want[128];
	size_t		 i;

	doc = chain_doc(SL_MAX_CHAIN);
	conf = must_parse(doc);
	free(doc);
	ck_assert_uint_eq(conf->nlinks, SL_MAX_CHAIN + 1);
	ck_assert_int_eq(conf->links[1].via, 0);
	for (i = 2; i <= SL_MAX_CHAIN; i++)
		ck_assert_int_eq(conf->links[i].via, (int)i - 1);
	conf_free(conf);
	doc = chain_doc(SL_MAX_CHAIN + 1);
	snprintf(want, sizeof(want), "balancer.links[%d].via: chain of %d "
	    "socks5 hops is longer than %d", SL_MAX_CHAIN + 1,
	    SL_MAX_CHAIN + 1, SL_MAX_CHAIN);
	must_fail(doc, want);
	free(doc);
}
END_TEST

/* A link may name a later link; a three-link loop is still a loop. */
START_TEST(test_chain_loop)
{
	struct sl_conf	*conf;

	conf = must_parse("{'balancer': {'links': [{'protocol': 'socks5',"
	    " 'domain': 'h', 'port': 1, 'via': 'link1'}, {}]}}");
	ck_assert_int_eq(conf->links[0].via, 1);
	conf_free(conf);
	must_fail("{'balancer': {'links': [{},"
	    " {'protocol': 'socks5', 'domain': 'h', 'port': 1, 'via': 'link2'},"
	    " {'protocol': 'socks5', 'domain': 'h', 'port': 1, 'via': 'link3'},"
	    " {'protocol': 'socks5', 'domain': 'h', 'port': 1, 'via': 'link1'}"
	    "]}}", "balancer.links[1].via: chain loops through link \"link1\"");
}
END_TEST

START_TEST(test_limits)
{
	struct sl_conf	*conf;
	struct buf	 b = { NULL, 0, 0 };

	add(&b, "{'balancer': {'links': [");
	add_repeat(&b, "{}", SL_MAX_LINKS);
	add(&b, "]}}");
	conf = must_parse(b.s);
	ck_assert_uint_eq(conf->nlinks, SL_MAX_LINKS);
	ck_assert_str_eq(conf->links[SL_MAX_LINKS - 1].name, "link255");
	conf_free(conf);
	b.len = 0;
	add(&b, "{'balancer': {'links': [");
	add_repeat(&b, "{}", SL_MAX_LINKS + 1);
	add(&b, "]}}");
	must_fail(b.s, "balancer.links: too many entries (max 256)");
	b.len = 0;
	add(&b, "{'listen': [");
	add_repeat(&b, "'127.0.0.1:1'", SL_MAX_LISTENERS + 1);
	add(&b, "]}");
	must_fail(b.s, "listen: expected 1-16 entries, got 17");
	b.len = 0;
	add(&b, "{'nameservers': [");
	add_repeat(&b, "'127.0.0.1'", SL_MAX_ADDRS + 1);
	add(&b, "]}");
	must_fail(b.s, "nameservers: expected 1-16 entries, got 17");
	free(b.s);
}
END_TEST

/* Over the limit, every matcher array is refused before it is read. */
START_TEST(test_matcher_limits)
{
	static const char *const keys[] = { "ports", "domains_re", "domains",
	    "ips", "clients" };
	struct sl_conf	*conf;
	struct buf	 b = { NULL, 0, 0 };
	char		 want[128];
	size_t		 i;

	add(&b, "{'balancer': {'matchers': [{'ports': [");
	add_repeat(&b, "1", 100000);
	add(&b, "]}]}}");
	conf = must_parse(b.s);
	ck_assert_uint_eq(conf->matchers[0].nports, 100000);
	conf_free(conf);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		b.len = 0;
		add(&b, "{'balancer': {'matchers': [{}, {'");
		add(&b, keys[i]);
		add(&b, "': [");
		add_repeat(&b, "1", 100001);
		add(&b, "]}]}}");
		snprintf(want, sizeof(want), "balancer.matchers[1].%s: too "
		    "many entries (max 100000)", keys[i]);
		must_fail(b.s, want);
	}
	b.len = 0;
	add(&b, "{'balancer': {'matchers': [");
	add_repeat(&b, "{}", 100001);
	add(&b, "]}}");
	must_fail(b.s, "balancer.matchers: too many entries (max 100000)");
	b.len = 0;
	add(&b, "{'balancer': {'links': [{'matchers': [");
	add_repeat(&b, "{'ports': [1]}", 100001);
	add(&b, "]}]}}");
	must_fail(b.s, "balancer.links[0].matchers: too many entries "
	    "(max 100000)");
	free(b.s);
}
END_TEST

/* Short patterns can compile big: the total is bounded. */
START_TEST(test_regex_memory)
{
	const char	*pat = "(?:ab){6000}";
	struct buf	 b = { NULL, 0, 0 };
	pcre2_code	*re;
	PCRE2_SIZE	 off;
	size_t		 size, n;
	char		 want[160], item[32];
	int		 code;

	re = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED, 0, &code,
	    &off, NULL);
	ck_assert_ptr_nonnull(re);
	ck_assert_int_eq(pcre2_pattern_info(re, PCRE2_INFO_SIZE, &size), 0);
	pcre2_code_free(re);
	n = (64u << 20) / size;		/* the first pattern over the cap */
	snprintf(item, sizeof(item), "'%s'", pat);
	add(&b, "{'balancer': {'matchers': [{'domains_re': [");
	add_repeat(&b, item, n + 10);
	add(&b, "]}]}}");
	snprintf(want, sizeof(want), "balancer.matchers[0].domains_re[%zu]: "
	    "regular expressions too large (max 67108864 bytes compiled)", n);
	must_fail(b.s, want);
	free(b.s);
}
END_TEST

/* Long strings at and past each limit. */
START_TEST(test_string_limits)
{
	struct sl_conf	*conf;
	struct buf	 b = { NULL, 0, 0 };
	char		 s[300];

	memset(s, 'a', 255);
	s[255] = '\0';
	add(&b, "{'balancer': {'links': [{'protocol': 'socks5', 'port': 1,"
	    " 'username': '");
	add(&b, s);
	add(&b, "', 'password': '");
	add(&b, s);
	add(&b, "', 'domain': '");
	s[63] = '\0';	/* a label is at most 63 bytes */
	add(&b, s);
	add(&b, ".");
	add(&b, s);
	add(&b, ".");
	add(&b, s);
	add(&b, ".");
	add(&b, s);
	add(&b, "'}]}}");
	conf = must_parse(b.s);
	ck_assert_uint_eq(strlen(conf->links[0].username), 255);
	ck_assert_uint_eq(strlen(conf->links[0].host), 255);
	conf_free(conf);
	b.len = 0;
	memset(s, 'a', 256);
	s[256] = '\0';
	add(&b, "{'balancer': {'links': [{'protocol': 'socks5', 'port': 1,"
	    " 'domain': 'h', 'username': 'u', 'password': '");
	add(&b, s);
	add(&b, "'}]}}");
	must_fail(b.s, "balancer.links[0].password: longer than 255 bytes");
	free(b.s);
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

/* Resolver and racing keys, none at its default. */
START_TEST(test_resolver_keys)
{
	struct sl_conf	*conf;

	conf = must_parse("{'nameservers_backup': ['8.8.8.8',"
	    " '[2001:db8::53]:5353', '192.0.2.1:54'],"
	    " 'ip_blacklist': ['203.0.113.0/24', '::1'],"
	    " 'dns_min_ttl': 0, 'dns_max_ttl': 604800, 'dns_negative_ttl': 0,"
	    " 'dns_cache_size': 0, 'hijack_check_interval': 0,"
	    " 'hijack_probes': ['192.0.2.9', '[2001:db8::9]:5300', '::9',"
	    " '192.0.2.10:1'], 'happy_eyeballs_delay': 0.1,"
	    " 'route_cache_ttl': 0, 'IpBlacklist': ['198.51.100.7']}");
	ck_assert_uint_eq(conf->nnameservers_backup, 3);
	check_addr(&conf->nameservers_backup[0].addr,
	    conf->nameservers_backup[0].addrlen, AF_INET, "8.8.8.8", 53);
	check_addr(&conf->nameservers_backup[1].addr,
	    conf->nameservers_backup[1].addrlen, AF_INET6, "2001:db8::53",
	    5353);
	check_addr(&conf->nameservers_backup[2].addr,
	    conf->nameservers_backup[2].addrlen, AF_INET, "192.0.2.1", 54);
	/* Both blacklists, in document order. */
	ck_assert_uint_eq(conf->nip_blacklist, 3);
	check_cidr(&conf->ip_blacklist[0], AF_INET, "203.0.113.0", 24);
	check_cidr(&conf->ip_blacklist[1], AF_INET6, "::1", 128);
	check_cidr(&conf->ip_blacklist[2], AF_INET, "198.51.100.7", 32);
	ck_assert_uint_eq(conf->dns_min_ttl_s, 0);
	ck_assert_uint_eq(conf->dns_max_ttl_s, 604800);
	ck_assert_uint_eq(conf->dns_negative_ttl_s, 0);
	ck_assert_uint_eq(conf->dns_cache_size, 0);
	ck_assert_uint_eq(conf->hijack_interval_s, 0);
	ck_assert_uint_eq(conf->nhijack_probes, 4);
	check_addr(&conf->hijack_probes[0].addr,
	    conf->hijack_probes[0].addrlen, AF_INET, "192.0.2.9", 53);
	check_addr(&conf->hijack_probes[1].addr,
	    conf->hijack_probes[1].addrlen, AF_INET6, "2001:db8::9", 5300);
	check_addr(&conf->hijack_probes[2].addr,
	    conf->hijack_probes[2].addrlen, AF_INET6, "::9", 53);
	check_addr(&conf->hijack_probes[3].addr,
	    conf->hijack_probes[3].addrlen, AF_INET, "192.0.2.10", 1);
	ck_assert_uint_eq(conf->happy_eyeballs_ms, 100);
	ck_assert_uint_eq(conf->route_cache_ttl_s, 0);
	conf_free(conf);
	/* The other ends of the ranges; one backup as a string; none. */
	conf = must_parse("{'nameservers_backup': '9.9.9.9:5353',"
	    " 'dns_min_ttl': 86400, 'dns_max_ttl': 86400,"
	    " 'dns_negative_ttl': 86400, 'dns_cache_size': 1000000,"
	    " 'hijack_check_interval': 86400, 'happy_eyeballs_delay': 86400,"
	    " 'route_cache_ttl': 86400, 'ip_blacklist': [], 'IpBlacklist': [],"
	    " 'hijack_probes': []}");
	ck_assert_uint_eq(conf->nnameservers_backup, 1);
	check_addr(&conf->nameservers_backup[0].addr,
	    conf->nameservers_backup[0].addrlen, AF_INET, "9.9.9.9", 5353);
	ck_assert_uint_eq(conf->dns_min_ttl_s, 86400);
	ck_assert_uint_eq(conf->dns_max_ttl_s, 86400);
	ck_assert_uint_eq(conf->dns_negative_ttl_s, 86400);
	ck_assert_uint_eq(conf->dns_cache_size, 1000000);
	ck_assert_uint_eq(conf->hijack_interval_s, 86400);
	ck_assert_uint_eq(conf->happy_eyeballs_ms, 86400000);
	ck_assert_uint_eq(conf->route_cache_ttl_s, 86400);
	ck_assert_uint_eq(conf->nip_blacklist, 0);
	ck_assert_uint_eq(conf->nhijack_probes, 0);
	conf_free(conf);
	conf = must_parse("{'nameservers_backup': [], 'dns_max_ttl': 1,"
	    " 'dns_min_ttl': 1, 'happy_eyeballs_delay': 0.0001}");
	ck_assert_uint_eq(conf->nnameservers_backup, 0);
	ck_assert_uint_eq(conf->dns_max_ttl_s, 1);
	ck_assert_uint_eq(conf->happy_eyeballs_ms, 1);
	conf_free(conf);
}
END_TEST

/* selectable, source and source_port on sluice links. */
START_TEST(test_link_selectable_source)
{
	struct sl_conf		*conf;
	const struct sl_link	*l;

	conf = must_parse("{'balancer': {'links': ["
	    "{'name': 'wan', 'selectable': false, 'source': '192.0.2.1',"
	    " 'source_port': 40000},"
	    " {'protocol': 'socks5', 'domain': 'h', 'port': 1, 'via': 'wan',"
	    " 'selectable': true, 'source_port': 0, 'source': '2001:db8::2'},"
	    " {'source': '0.0.0.0'}, {'source': '::', 'source_port': 0},"
	    " {'source': '0.0.0.0', 'source_port': 5000},"
	    " {'source_port': 1, 'source': '::'}]}}");
	l = conf->links;
	ck_assert_int_eq(l[0].selectable, 0);
	check_addr(&l[0].source, l[0].sourcelen, AF_INET, "192.0.2.1", 40000);
	ck_assert_int_eq(l[1].selectable, 1);
	ck_assert_int_eq(l[1].via, 0);
	check_addr(&l[1].source, l[1].sourcelen, AF_INET6, "2001:db8::2", 0);
	/* The unspecified address with port 0 binds nothing. */
	ck_assert_uint_eq(l[2].sourcelen, 0);
	ck_assert_int_eq(l[2].source.ss_family, 0);
	ck_assert_uint_eq(l[3].sourcelen, 0);
	check_addr(&l[4].source, l[4].sourcelen, AF_INET, "0.0.0.0", 5000);
	check_addr(&l[5].source, l[5].sourcelen, AF_INET6, "::", 1);
	ck_assert_int_eq(l[5].selectable, 1);
	conf_free(conf);
}
END_TEST

/* TcpRoute's README example loads as is and routes as it says. */
START_TEST(test_tcproute_example)
{
	struct sl_conf		*conf = NULL;
	const struct sl_link	*l;
	static const char *const backup[] = { "8.8.8.8", "8.8.4.4",
	    "208.67.222.222", "208.67.220.220" };
	char			 err[256];
	size_t			 i;

	ck_assert_msg(conf_parse(tcproute_example, strlen(tcproute_example),
	    &conf, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(conf->log_level, SL_LOG_INFO);
	ck_assert_uint_eq(conf->nlisteners, 1);
	check_addr(&conf->listeners[0].addr, conf->listeners[0].addrlen,
	    AF_INET, "0.0.0.0", 7070);
	ck_assert_int_eq(conf->nameservers_system, 1);
	ck_assert_uint_eq(conf->nnameservers, 0);
	ck_assert_uint_eq(conf->nnameservers_backup, 4);
	for (i = 0; i < 4; i++)
		check_addr(&conf->nameservers_backup[i].addr,
		    conf->nameservers_backup[i].addrlen, AF_INET, backup[i],
		    53);
	ck_assert_uint_eq(conf->nip_blacklist, 0);
	ck_assert_int_eq(conf->strategy, SL_STRAT_FASTEST);
	ck_assert_uint_eq(conf->nlinks, 3);
	l = conf->links;
	check_direct_default(&l[0], "upstream.list[0]");
	ck_assert_str_eq(l[1].name, "upstream.list[1]");
	ck_assert_int_eq(l[1].proto, SL_LINK_SOCKS5);
	ck_assert_int_eq(l[1].selectable, 1);
	ck_assert_str_eq(l[1].host, "127.0.0.1");
	ck_assert_uint_eq(l[1].port, 5555);
	ck_assert_int_eq(l[1].via, 2);
	ck_assert_uint_eq(l[1].sourcelen, 0);
	ck_assert_uint_eq(l[1].timeout_ms, 10000);
	ck_assert_str_eq(l[2].name, "upstream.list[1].upstream");
	ck_assert_int_eq(l[2].proto, SL_LINK_DIRECT);
	ck_assert_int_eq(l[2].selectable, 0);
	ck_assert_uint_eq(l[2].sourcelen, 0);
	ck_assert_int_eq(l[2].via, -1);
	/* Everything else at sluice's defaults. */
	conf->log_level = SL_LOG_INFO;
	conf->nnameservers_backup = 0;
	conf->strategy = SL_STRAT_ROUND_ROBIN;
	check_defaults(conf);
	conf->nnameservers_backup = 4;
	conf_free(conf);
}
END_TEST

/* One entry at the top; sources; flattened races; sluice keys beside. */
START_TEST(test_tcproute_trees)
{
	struct sl_conf		*conf;
	const struct sl_link	*l;

	conf = must_parse("{'upstream': {'type': 'direct', 'source_ip':"
	    " '192.0.2.7', 'source_port': 0}, 'workers': 2,"
	    " 'ip_blacklist': ['10.0.0.0/8'], 'IpBlacklist': ['192.0.2.66']}");
	ck_assert_int_eq(conf->strategy, SL_STRAT_ROUND_ROBIN);
	ck_assert_uint_eq(conf->nlinks, 1);
	ck_assert_str_eq(conf->links[0].name, "upstream");
	ck_assert_int_eq(conf->links[0].selectable, 1);
	check_addr(&conf->links[0].source, conf->links[0].sourcelen, AF_INET,
	    "192.0.2.7", 0);
	ck_assert_uint_eq(conf->workers, 2);
	ck_assert_uint_eq(conf->nip_blacklist, 2);
	check_cidr(&conf->ip_blacklist[1], AF_INET, "192.0.2.66", 32);
	check_addr(&conf->listeners[0].addr, conf->listeners[0].addrlen,
	    AF_INET, "0.0.0.0", 1080);
	conf_free(conf);

	conf = must_parse("{'upstream': {'type': 'socks5', 'host':"
	    " 'proxy.example', 'port': 1080}}");
	ck_assert_uint_eq(conf->nlinks, 1);
	ck_assert_str_eq(conf->links[0].name, "upstream");
	ck_assert_int_eq(conf->links[0].proto, SL_LINK_SOCKS5);
	ck_assert_str_eq(conf->links[0].host, "proxy.example");
	ck_assert_int_eq(conf->links[0].via, -1);
	ck_assert_int_eq(conf->links[0].selectable, 1);
	conf_free(conf);

	/* A multipath in a list joins the same race. */
	conf = must_parse("{'upstream': {'type': 'multipath', 'list': ["
	    "{'type': 'direct', 'source_port': 7000},"
	    " {'type': 'multipath', 'list': [{'type': 'direct', 'source_ip':"
	    " '2001:db8::1', 'source_port': 1234}, {'type': 'socks5', 'host':"
	    " '2001:db8::5', 'port': 1, 'upstream': {'type': 'direct',"
	    " 'source_ip': '::'}}]},"
	    " {'source_ip': '192.0.2.2', 'type': 'direct'}]}}");
	ck_assert_int_eq(conf->strategy, SL_STRAT_FASTEST);
	ck_assert_uint_eq(conf->nlinks, 5);
	l = conf->links;
	ck_assert_str_eq(l[0].name, "upstream.list[0]");
	check_addr(&l[0].source, l[0].sourcelen, AF_INET, "0.0.0.0", 7000);
	ck_assert_str_eq(l[1].name, "upstream.list[1].list[0]");
	check_addr(&l[1].source, l[1].sourcelen, AF_INET6, "2001:db8::1",
	    1234);
	ck_assert_str_eq(l[2].name, "upstream.list[1].list[1]");
	ck_assert_str_eq(l[2].host, "2001:db8::5");
	ck_assert_int_eq(l[2].via, 3);
	ck_assert_str_eq(l[3].name, "upstream.list[1].list[1].upstream");
	ck_assert_uint_eq(l[3].sourcelen, 0);
	ck_assert_str_eq(l[4].name, "upstream.list[2]");
	check_addr(&l[4].source, l[4].sourcelen, AF_INET, "192.0.2.2", 0);
	ck_assert_int_eq(l[0].selectable + l[1].selectable + l[2].selectable +
	    l[4].selectable, 4);
	ck_assert_int_eq(l[3].selectable, 0);
	conf_free(conf);

	/* A top-level multipath of one: still a race. */
	conf = must_parse("{'upstream': {'list': [{'type': 'direct'}],"
	    " 'type': 'multipath'}}");
	ck_assert_int_eq(conf->strategy, SL_STRAT_FASTEST);
	ck_assert_uint_eq(conf->nlinks, 1);
	ck_assert_str_eq(conf->links[0].name, "upstream.list[0]");
	conf_free(conf);
}
END_TEST

/* In a TcpRoute document a level sluice does not know is info. */
START_TEST(test_tcproute_log_levels)
{
	static const struct {
		const char	*name;
		int		 level;
	} t[] = {
		{ "INDO", SL_LOG_INFO }, { "INFO", SL_LOG_INFO },
		{ "DEBUG", SL_LOG_DEBUG }, { "WARNING", SL_LOG_WARN },
		{ "ERROR", SL_LOG_ERROR }, { "CRITICAL", SL_LOG_ERROR },
		{ "", SL_LOG_INFO }, { "verbose", SL_LOG_INFO },
	};
	struct sl_conf	*conf;
	char		 doc[128];
	size_t		 i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		/* log_level before upstream: the whole document decides. */
		snprintf(doc, sizeof(doc), "{'log_level': '%s', 'upstream':"
		    " {'type': 'direct'}}", t[i].name);
		conf = must_parse(doc);
		ck_assert_int_eq(conf->log_level, t[i].level);
		conf_free(conf);
	}
}
END_TEST

/* n socks5 entries, each the upstream of the one before, then a direct. */
static char *
tcproute_chain(size_t n, const char *head, const char *tail)
{
	struct buf	b = { NULL, 0, 0 };
	size_t		i;

	add(&b, head);
	for (i = 0; i < n; i++)
		add(&b, "{'type': 'socks5', 'host': 'h', 'port': 1080,"
		    " 'upstream': ");
	add(&b, "{'type': 'direct', 'source_ip': '192.0.2.1'}");
	for (i = 0; i < n; i++)
		add(&b, "}");
	add(&b, tail);
	return b.s;
}

/* Up to SL_MAX_CHAIN socks5 hops; long paths are cut, names unique. */
START_TEST(test_tcproute_deep)
{
	struct sl_conf	*conf;
	char		*doc, want[640], path[512];
	const char	*tail;
	size_t		 i, j, plen;

	doc = tcproute_chain(SL_MAX_CHAIN, "{'upstream': {'type': "
	    "'multipath', 'list': [{'type': 'direct'}, ", "]}}");
	conf = must_parse(doc);
	free(doc);
	ck_assert_uint_eq(conf->nlinks, SL_MAX_CHAIN + 2);
	plen = (size_t)snprintf(path, sizeof(path), "upstream.list[1]");
	for (i = 1; i <= SL_MAX_CHAIN + 1; i++) {
		ck_assert_int_eq(conf->links[i].selectable, i == 1);
		ck_assert_int_eq(conf->links[i].proto, i <= SL_MAX_CHAIN ?
		    SL_LINK_SOCKS5 : SL_LINK_DIRECT);
		ck_assert_int_eq(conf->links[i].via, i <= SL_MAX_CHAIN ?
		    (int)i + 1 : -1);
		if (plen < 64)
			ck_assert_str_eq(conf->links[i].name, path);
		else {
			/* Head, the index, and as much of the tail as fits. */
			snprintf(want, sizeof(want), "upstream.list[1]..#%zu..",
			    i);
			ck_assert_msg(strncmp(conf->links[i].name, want,
			    strlen(want)) == 0, "%s", conf->links[i].name);
			tail = conf->links[i].name + strlen(want);
			ck_assert_str_eq(tail, "upstream.upstream.upstream."
			    "upstream");
			ck_assert_str_eq(tail, path + plen - strlen(tail));
		}
		plen += (size_t)snprintf(path + plen, sizeof(path) - plen,
		    ".upstream");
	}
	check_addr(&conf->links[SL_MAX_CHAIN + 1].source,
	    conf->links[SL_MAX_CHAIN + 1].sourcelen, AF_INET, "192.0.2.1", 0);
	for (i = 0; i < conf->nlinks; i++)
		for (j = 0; j < i; j++)
			ck_assert_str_ne(conf->links[i].name,
			    conf->links[j].name);
	conf_free(conf);

	/* One hop more, at the top: the entry that makes it is named. */
	doc = tcproute_chain(SL_MAX_CHAIN + 1, "{'upstream': ", "}");
	plen = (size_t)snprintf(path, sizeof(path), "upstream");
	for (i = 0; i < SL_MAX_CHAIN; i++)
		plen += (size_t)snprintf(path + plen, sizeof(path) - plen,
		    ".upstream");
	snprintf(want, sizeof(want), "%s: chain of %d socks5 hops is longer "
	    "than %d", path, SL_MAX_CHAIN + 1, SL_MAX_CHAIN);
	must_fail(doc, want);
	free(doc);
}
END_TEST

/* Races nested deeper than a name is long keep distinct names. */
START_TEST(test_tcproute_nested_races)
{
	struct sl_conf	*conf;
	struct buf	 b = { NULL, 0, 0 };
	size_t		 i, j, depth = 12;

	add(&b, "{'upstream': ");
	for (i = 0; i < depth; i++)
		add(&b, "{'type': 'multipath', 'list': [{'type': 'direct'}, ");
	add(&b, "{'type': 'direct'}");
	for (i = 0; i < depth; i++)
		add(&b, "]}");
	add(&b, "}");
	conf = must_parse(b.s);
	free(b.s);
	ck_assert_uint_eq(conf->nlinks, depth + 1);
	ck_assert_str_eq(conf->links[0].name, "upstream.list[0]");
	ck_assert_str_eq(conf->links[1].name, "upstream.list[1].list[0]");
	ck_assert_str_eq(conf->links[depth].name,
	    "upstream.list[1]..#12..list[1].list[1].list[1].list[1].list[1]");
	for (i = 0; i < conf->nlinks; i++) {
		ck_assert_int_eq(conf->links[i].selectable, 1);
		ck_assert_uint_lt(strlen(conf->links[i].name), 64);
		for (j = 0; j < i; j++)
			ck_assert_str_ne(conf->links[i].name,
			    conf->links[j].name);
	}
	ck_assert_int_eq(conf->strategy, SL_STRAT_FASTEST);
	conf_free(conf);
}
END_TEST

/* SL_MAX_LINKS links from a tree, hops included, and no more. */
START_TEST(test_tcproute_limits)
{
	struct sl_conf	*conf;
	struct buf	 b = { NULL, 0, 0 };
	size_t		 n = SL_MAX_LINKS / 2;

	add(&b, "{'upstream': {'type': 'multipath', 'list': [");
	add_repeat(&b, "{'type': 'socks5', 'host': 'h', 'port': 1,"
	    " 'upstream': {'type': 'direct'}}", n);
	add(&b, "]}}");
	conf = must_parse(b.s);
	ck_assert_uint_eq(conf->nlinks, SL_MAX_LINKS);
	ck_assert_str_eq(conf->links[SL_MAX_LINKS - 1].name,
	    "upstream.list[127].upstream");
	ck_assert_int_eq(conf->links[SL_MAX_LINKS - 2].via, SL_MAX_LINKS - 1);
	conf_free(conf);
	b.len = 0;
	add(&b, "{'upstream': {'type': 'multipath', 'list': [");
	add_repeat(&b, "{'type': 'socks5', 'host': 'h', 'port': 1,"
	    " 'upstream': {'type': 'direct'}}", n + 1);
	add(&b, "]}}");
	must_fail(b.s, "upstream.list[128]: more than 256 links");
	b.len = 0;
	add(&b, "{'upstream': {'type': 'multipath', 'list': [");
	add_repeat(&b, "{'type': 'direct'}", SL_MAX_LINKS + 1);
	add(&b, "]}}");
	must_fail(b.s, "upstream.list: too many entries (max 256)");
	b.len = 0;
	add(&b, "{'nameservers_backup': [");
	add_repeat(&b, "'127.0.0.1'", 17);
	add(&b, "], 'hijack_probes': []}");
	must_fail(b.s, "nameservers_backup: expected 0-16 entries, got 17");
	b.len = 0;
	add(&b, "{'hijack_probes': [");
	add_repeat(&b, "'127.0.0.1'", 17);
	add(&b, "]}");
	must_fail(b.s, "hijack_probes: expected 0-16 entries, got 17");
	b.len = 0;
	add(&b, "{'ip_blacklist': [");
	add_repeat(&b, "'127.0.0.1'", 100001);
	add(&b, "]}");
	must_fail(b.s, "ip_blacklist: too many entries (max 100000)");
	free(b.s);
}
END_TEST

static Suite *
config_suite(void)
{
	Suite	*s = suite_create("config");
	TCase	*tc;

	tc = tcase_create("valid");
	tcase_add_test(tc, test_pythtrt_example);
	tcase_add_test(tc, test_empty_object);
	tcase_add_test(tc, test_empty_links);
	tcase_add_test(tc, test_full);
	tcase_add_test(tc, test_contrib_copy);
	tcase_add_test(tc, test_contrib_file);
	tcase_add_test(tc, test_timeouts);
	tcase_add_test(tc, test_listen_domain);
	tcase_add_test(tc, test_nameservers);
	tcase_add_test(tc, test_log_levels);
	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_pythtrt_explicit_defaults);
	tcase_add_test(tc, test_matcher_values);
	tcase_add_test(tc, test_check_defaults);
	tcase_add_test(tc, test_resolver_keys);
	tcase_add_test(tc, test_link_selectable_source);
	suite_add_tcase(s, tc);

	tc = tcase_create("tcproute");
	tcase_add_test(tc, test_tcproute_example);
	tcase_add_test(tc, test_tcproute_trees);
	tcase_add_test(tc, test_tcproute_log_levels);
	tcase_add_test(tc, test_tcproute_deep);
	tcase_add_test(tc, test_tcproute_nested_races);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_loop_test(tc, test_bad, 0, (int)(sizeof(bad) /
	    sizeof(bad[0])));
	tcase_add_test(tc, test_error_buffer);
	tcase_add_test(tc, test_too_big);
	suite_add_tcase(s, tc);

	tc = tcase_create("links");
	tcase_add_test(tc, test_chain_depth);
	tcase_add_test(tc, test_chain_loop);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_limits);
	tcase_add_test(tc, test_matcher_limits);
	tcase_add_test(tc, test_string_limits);
	tcase_add_test(tc, test_regex_memory);
	tcase_add_test(tc, test_tcproute_limits);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(config_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
