// A Node.js backend for scripts/desync.sh: it reads each request's body to its end and answers
// with the path and the body's length, on the address in its first argument (127.0.0.1:PORT).
const http = require('http');
const [host, port] = process.argv[2].split(':');
http.createServer((req, res) => {
  let n = 0;
  req.on('data', (chunk) => { n += chunk.length; });
  req.on('end', () => {
    const body = JSON.stringify({ path: req.url, length: n });
    res.writeHead(200, { 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  });
}).listen(Number(port), host);
