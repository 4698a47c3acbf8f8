-- dash-create.lua - wrk script: POST /v1/aliases with a fresh origin each
-- time, so every request creates an alias.  The bearer token comes from
-- the environment (BENCH_TOKEN).
local counter = 0
local tid = 0
local threads = {}

function setup(thread)
	thread:set("tid", #threads + 1)
	table.insert(threads, thread)
end

function init(args)
	counter = 0
	math.randomseed(os.time() + tid * 7919)
	prefix = string.format("t%d-%d", tid, math.random(1, 1000000000))
	wrk.method = "POST"
	wrk.headers["Content-Type"] = "application/json"
	wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
end

function request()
	counter = counter + 1
	local body = string.format('{"origin":"%s-%d.example"}', prefix, counter)
	return wrk.format(nil, "/v1/aliases", nil, body)
end

function done(summary, latency, requests)
	io.write(string.format("non2xx=%d\n", summary.errors.status))
end
