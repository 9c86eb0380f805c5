-- wrk script for bench/kv.sh: one KV write per request, every request a distinct key, 100-byte values.
-- Usage: wrk ... -s bench/put.lua URL -- <consul|etcd> <key-prefix>
--   consul: PUT /v1/kv/<prefix>/<thread>/<n> with the raw 100-byte value as body (Consul's KV API)
--   etcd:   POST /v3/kv/put with {"key":base64,"value":base64} (etcd 3.4's HTTP/JSON gateway)
-- done() prints one machine-readable line: "WRKRESULT key=value ...".

local threads = {}

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

local b64chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local function b64(data)
  return ((data:gsub(".", function(x)
    local r, b = "", x:byte()
    for i = 8, 1, -1 do r = r .. (b % 2 ^ i - b % 2 ^ (i - 1) > 0 and "1" or "0") end
    return r
  end) .. "0000"):gsub("%d%d%d?%d?%d?%d?", function(x)
    if #x < 6 then return "" end
    local c = 0
    for i = 1, 6 do c = c + (x:sub(i, i) == "1" and 2 ^ (6 - i) or 0) end
    return b64chars:sub(c + 1, c + 1)
  end) .. ({ "", "==", "=" })[#data % 3 + 1])
end

local mode, prefix, value, value64
local n = 0

function init(args)
  mode = args[1] or "consul"
  prefix = args[2] or "bench"
  -- 100 bytes, printable, same for every request
  value = string.rep("0123456789", 10)
  value64 = b64(value)
  if mode == "etcd" then
    wrk.headers["Content-Type"] = "application/json"
  else
    wrk.headers["Content-Type"] = "application/octet-stream"
  end
end

function request()
  n = n + 1
  local key = prefix .. "/" .. tid .. "/" .. n
  if mode == "etcd" then
    return wrk.format("POST", "/v3/kv/put", nil, '{"key":"' .. b64(key) .. '","value":"' .. value64 .. '"}')
  else
    return wrk.format("PUT", "/v1/kv/" .. key, nil, value)
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  local secs = summary.duration / 1e6
  io.write(string.format(
    "WRKRESULT requests=%d seconds=%.3f rps=%.1f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f non2xx=%d connect_err=%d read_err=%d write_err=%d timeouts=%d\n",
    summary.requests, secs, summary.requests / secs,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    e.status, e.connect, e.read, e.write, e.timeout))
end
