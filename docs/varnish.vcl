# The counter behind Varnish (6.0 or later) as a cache in front of the app: the VCL for varnishd -f.
# Varnish speaks HTTP/1.1 and no TLS. For HTTPS and HTTP/2 to browsers, put a TLS proxy in front of it
# that sets X-Forwarded-Http-Version itself (as docs/haproxy.cfg does), and leave the line below out;
# if it cannot, set userCounterMiddleware({ maxStreamsPerBrowser: 0 }) (README, Deploying).
# In the app: app.set('trust proxy', 1) (Varnish adds the viewer's address to X-Forwarded-For).
# __tests__/proxies/ run this file in a real varnishd (its port and the app's replaced).
# What it relies on, from https://varnish-cache.org/docs/7.1/:
# - send_timeout (600 s) ends any response still being sent after that long, but not in pipe mode: reference/varnishd.html#send-timeout
# - in pipe mode Varnish shuffles bytes both ways until either end closes, so a closed page ends its stream to the app at once: users-guide/vcl-built-in-subs.html#vcl-pipe
# - pipe_timeout (60 s) is an idle limit: the stream's keep-alives, every 3 s, keep it: reference/varnishd.html#pipe-timeout
# - req.proto is the client's protocol ("HTTP/1.1"): reference/vcl-var.html#req-proto
# - the built-in VCL does not cache a response marked no-store (the counts): users-guide/vcl-built-in-code.html
vcl 4.1;

backend default {
    .host = "127.0.0.1";
    .port = "3000";
}

sub vcl_recv {
    # Which HTTP the client spoke; set here, so a client's own never reaches the app.
    set req.http.X-Forwarded-Http-Version = req.proto;
    # The stream: passed through as it comes, for as long as it lasts. Without this it would be a
    # fetch that outlives the page (a leave counted seconds late) and is cut after send_timeout.
    if (req.url ~ "^/online\.png(\?|$)") {
        return (pipe);
    }
    # The counts: never cached, and never waiting behind another request for the same URL.
    if (req.url ~ "^/online\.(json|shields\.json)(\?|$)") {
        return (pass);
    }
}

sub vcl_backend_response {
    # Your site's compression (the stream never comes here).
    if (beresp.http.Content-Type ~ "^(text/|application/(json|javascript))") {
        set beresp.do_gzip = true;
    }
}
