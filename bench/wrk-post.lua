-- The benchmark's request for wrk (bench/wrk.ts): a POST whose body is the file WRK_BODY_FILE (an
-- environment variable holds at most 128 KB on Linux) and whose headers come from WRK_HEADERS, a
-- flat JSON object of strings.
wrk.method = "POST"
local file = assert(io.open(os.getenv("WRK_BODY_FILE"), "rb"))
wrk.body = file:read("*a")
file:close()
wrk.headers["Content-Type"] = "application/json"
for name, value in string.gmatch(os.getenv("WRK_HEADERS") or "{}", '"([^"]+)":"([^"]*)"') do
  wrk.headers[name] = value
end
