-- wrk script for bench/run.ts: POSTs the JSON bodies of the file named by WRK_BODIES (one per
-- line) in turn, each of wrk's threads starting at its own offset, with the API key of
-- WRK_AUTH; at the end prints one line "wrk-result {json}" with what bench/run.ts reads.
local bodies = {}
for line in io.lines(os.getenv("WRK_BODIES")) do bodies[#bodies + 1] = line end
wrk.method = "POST"
wrk.path = "/v1/decisions"
wrk.headers["content-type"] = "application/json"
wrk.headers["authorization"] = "Bearer " .. (os.getenv("WRK_AUTH") or "")

local threads = {}
local counter = 0
function setup(thread)
  thread:set("offset", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local i
function init(args)
  i = math.floor(offset * #bodies / 8)
end

function request()
  i = i % #bodies + 1
  return wrk.format(nil, nil, nil, bodies[i])
end

function done(summary, latency, requests)
  local s = summary
  io.write(string.format('wrk-result {"requests":%d,"seconds":%f,"p50":%f,"p99":%f,"non2xx":%d,"errors":%d}\n',
    s.requests, s.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    s.errors.status, s.errors.connect + s.errors.read + s.errors.write + s.errors.timeout))
end
