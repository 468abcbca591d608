// Benchmarks arrive with the aggregated MCP endpoint (tool-call overhead per call, memory per session).
console.log('switchboard bench: nothing is measured yet (tool-call overhead lands with the /mcp endpoint).');
