using System.Diagnostics;
using Berth.Api.Distribution;
using Berth.Core.Registry;
using Berth.Oci;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Berth.Api.Hosting;

/// <summary>
/// One Information line per request (method, path, status, bytes in and out, duration), the API version header,
/// and the last line of defence that turns malformed requests into OCI errors instead of 500s.
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
        var request = context.Request;
        if (request.Path.StartsWithSegments("/v2"))
        {
            context.Response.Headers[DistributionApi.ApiVersionHeader] = "registry/2.0";
        }

        try
        {
            await _next(context);
        }
        catch (BadHttpRequestException ex)
        {
            // Truncated bodies, bodies longer than Content-Length, malformed framing: the client's fault.
            LogBadRequest(_logger, request.Method, request.Path.Value ?? string.Empty, ex.Message);
            if (!context.Response.HasStarted)
            {
                context.Response.Clear();
                await BadRequestResult(request, ex).ExecuteAsync(context);
            }
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away; nothing to answer.
        }
        catch (Exception ex) when (ex is IOException && context.RequestAborted.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            LogUnhandled(_logger, ex, request.Method, request.Path.Value ?? string.Empty);
            if (!context.Response.HasStarted)
            {
                context.Response.Clear();
                context.Response.StatusCode = StatusCodes.Status500InternalServerError;
                if (request.Path.StartsWithSegments("/api", StringComparison.Ordinal))
                {
                    // The management API answers in RFC 9457 problem details, also when something breaks.
                    context.Response.ContentType = "application/problem+json";
                    await context.Response.WriteAsync("{\"type\":\"https://tools.ietf.org/html/rfc9110#section-15.6.1\",\"title\":\"Internal server error\",\"status\":500,\"detail\":\"the server failed to handle the request; see its log\"}");
                }
                else
                {
                    await OciErrorResult.Of(OciErrorCode.Unknown).ExecuteAsync(context);
                }
            }
        }
        finally
        {
            var elapsed = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            LogRequest(_logger, request.Method, request.Path.Value ?? string.Empty, context.Response.StatusCode,
                request.ContentLength ?? 0, context.Response.ContentLength ?? 0, elapsed);
        }
    }

    /// <summary>
    /// A body that broke its framing or its size limit, in the error shape of the API it was sent to: problem details
    /// on <c>/api</c>, an OAuth2 error on <c>/token</c>, an OCI error elsewhere.
    /// </summary>
    private static IResult BadRequestResult(HttpRequest request, BadHttpRequestException ex)
    {
        var tooLarge = ex.StatusCode == StatusCodes.Status413PayloadTooLarge;
        var message = tooLarge
            ? RequestBodyLimits.TooLarge(RequestBodyLimits.Get(request.HttpContext))
            : "request body did not match its declared length or framing: " + ex.Message;
        if (request.Path.StartsWithSegments("/api", StringComparison.Ordinal))
        {
            return Management.Problems.Status(ex.StatusCode, message);
        }

        if (request.Path.StartsWithSegments(Access.TokenEndpoints.Path, StringComparison.Ordinal))
        {
            return Results.Json(new Dictionary<string, string> { ["error"] = "invalid_request", ["error_description"] = message }, statusCode: ex.StatusCode);
        }

        return new OciErrorResult(new RegistryError(OciErrorCode.SizeInvalid, message), ex.StatusCode);
    }

    [LoggerMessage(EventId = 2001, Level = LogLevel.Information, Message = "{Method} {Path} {Status} in={BytesIn}B out={BytesOut}B {ElapsedMs:0.0}ms")]
    private static partial void LogRequest(ILogger logger, string method, string path, int status, long bytesIn, long bytesOut, double elapsedMs);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Warning, Message = "Bad request {Method} {Path}: {Reason}")]
    private static partial void LogBadRequest(ILogger logger, string method, string path, string reason);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Error, Message = "Unhandled error in {Method} {Path}")]
    private static partial void LogUnhandled(ILogger logger, Exception exception, string method, string path);
}
