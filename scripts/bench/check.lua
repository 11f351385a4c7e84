-- wrk script for scenario (d): alternates the path between two routes and counts responses that
-- came from the wrong backend. The backends name themselves in X-Backend and echo the path in X-Uri.
local paths = {"/a/item?x=1", "/b/item?x=1"}
local i = 0
local wrong = 0
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function request()
  i = i + 1
  return wrk.format("GET", paths[(i % 2) + 1])
end

function response(status, headers, body)
  local uri = headers["X-Uri"] or ""
  local backend = headers["X-Backend"] or ""
  if status ~= 200 or uri:sub(2, 2) ~= backend then
    wrong = wrong + 1
  end
end

function done(summary, latency, requests)
  local total = 0
  for _, t in ipairs(threads) do
    total = total + (t:get("wrong") or 0)
  end
  io.write(string.format("WRONG %d\n", total))
end
