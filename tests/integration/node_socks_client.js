// A black-box SOCKS5 client for the integration tests: Node's `socks`
// package (Debian's node-socks), driven by one JSON argument:
//   {"mode": "connect"|"bind"|"associate", "proxy": {host, port, user?, pass?},
//    "target": {host, port}, "payload": base64}
// connect:   CONNECT, send payload, print the echo as base64 on stdout.
// bind:      BIND; print {"bound": {host, port}} as soon as the first reply
//            arrives, then wait for the peer, read what it sends until it
//            closes, print {"peer": base64}.
// associate: UDP ASSOCIATE, send payload in one datagram to target, print
//            the first datagram back as {"udp": base64, "from": {host, port}}.
// Exits 0 on success, 1 with a message on stderr otherwise.
'use strict';
const dgram = require('dgram');
const { SocksClient } = require('socks');

const spec = JSON.parse(process.argv[2]);
const proxy = { host: spec.proxy.host, port: spec.proxy.port, type: 5 };
if (spec.proxy.user) {
  proxy.userId = spec.proxy.user;
  proxy.password = spec.proxy.pass;
}
const payload = Buffer.from(spec.payload || '', 'base64');
const fail = (e) => { console.error(String(e)); process.exit(1); };
setTimeout(() => fail('timeout'), 20000).unref();

function connect() {
  SocksClient.createConnection({ proxy, command: 'connect',
    destination: spec.target, timeout: 10000 }).then(({ socket }) => {
    const chunks = [];
    let n = 0;
    socket.on('data', (d) => {
      chunks.push(d);
      n += d.length;
      if (n >= payload.length) {
        console.log(JSON.stringify({ echo: Buffer.concat(chunks).toString('base64') }));
        socket.end();
        process.exit(0);
      }
    });
    socket.on('error', fail);
    socket.write(payload);
  }, fail);
}

function bind() {
  const c = new SocksClient({ proxy, command: 'bind',
    destination: spec.target, timeout: 10000 });
  c.on('bound', (info) => {
    console.log(JSON.stringify({ bound: { host: info.remoteHost.host,
      port: info.remoteHost.port } }));
  });
  c.on('established', (info) => {
    const chunks = [];
    info.socket.on('data', (d) => chunks.push(d));
    info.socket.on('end', () => {
      console.log(JSON.stringify({ peer: Buffer.concat(chunks).toString('base64') }));
      process.exit(0);
    });
    info.socket.on('error', fail);
  });
  c.on('error', fail);
  c.connect();
}

function associate() {
  const udp = dgram.createSocket(spec.proxy.host.includes(':') ? 'udp6' : 'udp4');
  udp.bind(0, spec.proxy.host, () => {
    const c = new SocksClient({ proxy, command: 'associate',
      destination: { host: spec.proxy.host, port: udp.address().port },
      timeout: 10000 });
    c.on('established', (info) => {
      udp.on('message', (msg) => {
        const f = SocksClient.parseUDPFrame(msg);
        console.log(JSON.stringify({ udp: f.data.toString('base64'),
          from: { host: f.remoteHost.host, port: f.remoteHost.port } }));
        process.exit(0);
      });
      const frame = SocksClient.createUDPFrame({ remoteHost: spec.target, data: payload });
      udp.send(frame, info.remoteHost.port, info.remoteHost.host);
    });
    c.on('error', fail);
    c.connect();
  });
}

({ connect, bind, associate })[spec.mode]();
