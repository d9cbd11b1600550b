-- wrk script: GET /inventories/INV-nnnnnn with ids drawn uniformly from
-- 1..N (N = the first script argument, default 500). The requests are
-- formatted once in init so the load generator spends its CPU on sockets,
-- not on string building. done() prints one line `WRK_JSON {...}` that
-- bench/api-latency.ts parses (latencies in microseconds).
--
--   wrk -t1 -c50 -d10s -s bench/wrk/inventory-by-id.lua http://127.0.0.1:PORT -- 500

local requests = {}
local n = 500

function init(args)
  n = tonumber(args[1]) or 500
  math.randomseed(os.time() + (tonumber(tostring({}):match('0x(%x+)'), 16) or 0) % 100000)
  for i = 1, n do
    requests[i] = wrk.format('GET', string.format('/inventories/INV-%06d', i))
  end
end

function request()
  return requests[math.random(n)]
end

function done(summary, latency, _)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"durationUs":%d,"connectErrors":%d,"readErrors":%d,"writeErrors":%d,"statusErrors":%d,"timeouts":%d,"p50Us":%d,"p90Us":%d,"p99Us":%d,"maxUs":%d,"meanUs":%.1f}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
