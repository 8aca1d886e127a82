process.on('exit', () => { for (const [k, n] of globalThis.__exn || []) console.log(n, k); });
