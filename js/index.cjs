// deno-lint-ignore-file no-undef -- CommonJS: module and require are this file's own
// CommonJS entry: the ES module loaded with require(esm) (Node.js 20.19+, 22.12+).
module.exports = require('./node.mjs');
