-- The benchmark's request for wrk (bench/wrk.ts): a POST whose body and headers come from the
-- environment (WRK_BODY, and WRK_HEADERS as a flat JSON object of strings).
wrk.method = "POST"
wrk.body = os.getenv("WRK_BODY")
wrk.headers["Content-Type"] = "application/json"
for name, value in string.gmatch(os.getenv("WRK_HEADERS") or "{}", '"([^"]+)":"([^"]*)"') do
  wrk.headers[name] = value
end
