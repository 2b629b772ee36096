using System.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Berth.Api.Hosting;

/// <summary>
/// One Information line per request (method, path, status, bytes in and out, duration), written when the request
/// ends, whatever happened inside (<see cref="ExceptionHandlingMiddleware"/> runs within it, so the line shows the
/// status the client got).
/// </summary>
public sealed partial class RequestLoggingMiddleware
{
    private readonly RequestDelegate _next;
    private readonly ILogger<RequestLoggingMiddleware> _logger;

    public RequestLoggingMiddleware(RequestDelegate next, ILogger<RequestLoggingMiddleware> logger)
    {
        _next = next;
        _logger = logger;
    }

    public async Task InvokeAsync(HttpContext context)
    {
        var start = Stopwatch.GetTimestamp();
        try
        {
            await _next(context);
        }
        finally
        {
            // A load balancer polls /healthz and /readyz every few seconds on every node: logged only when not 200.
            var request = context.Request;
            var quiet = context.Response.StatusCode == StatusCodes.Status200OK
                && (request.Path.Equals(HealthEndpoints.HealthPath, StringComparison.Ordinal) || request.Path.Equals(HealthEndpoints.ReadyPath, StringComparison.Ordinal));
            if (!quiet && _logger.IsEnabled(LogLevel.Information))
            {
                LogRequest(_logger, request.Method, request.Path.Value ?? string.Empty, context.Response.StatusCode,
                    request.ContentLength ?? 0, context.Response.ContentLength ?? 0, Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            }
        }
    }

    [LoggerMessage(EventId = 2001, Level = LogLevel.Information, Message = "{Method} {Path} {Status} in={BytesIn}B out={BytesOut}B {ElapsedMs:0.0}ms")]
    private static partial void LogRequest(ILogger logger, string method, string path, int status, long bytesIn, long bytesOut, double elapsedMs);
}
