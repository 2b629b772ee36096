using Berth.Core.Registry;
using Berth.Core.Storage;
using Berth.Oci;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Berth.Api.Hosting;

/// <summary>
/// The last line of defence, in the error shape of the API the request was for (<see cref="ApiSurfaces"/>):
/// malformed framing or a body over its limit (<see cref="BadHttpRequestException"/>) is the client's fault and
/// answered as such (400 or 413, never a 500); a client that went away gets nothing; any other exception is logged
/// once, here, with its stack, and answered 500 with no word of its cause: an OCI <c>UNKNOWN</c> error on
/// <c>/v2</c> and <c>/token</c>, problem details on <c>/api</c>. A response already started cannot change: it is left
/// to the server (Kestrel aborts a response shorter than its Content-Length). A store out of room
/// (<see cref="StorageFullClassifier"/>: the disk, the reserve, SQLite's <c>SQLITE_FULL</c>, an object store's quota) is
/// not a failure of the server: every write path answers it here, as 507 with the OCI code <c>DENIED</c> and words
/// that say the storage is full (problem details on <c>/api</c>), logged as one warning line without a stack. A store
/// that cannot be reached (<see cref="StoreUnavailableClassifier"/>: PostgreSQL down, an object store not answering) is
/// answered 503 with the OCI code <c>UNAVAILABLE</c> and <c>Retry-After</c> (problem details on <c>/api</c>), logged as
/// one warning line.
/// </summary>
public sealed partial class ExceptionHandlingMiddleware
{
    private readonly RequestDelegate _next;
    private readonly ILogger<ExceptionHandlingMiddleware> _logger;
    private readonly StorageFullClassifier _storageFull;
    private readonly StoreUnavailableClassifier _unavailable;

    public ExceptionHandlingMiddleware(RequestDelegate next, ILogger<ExceptionHandlingMiddleware> logger, StorageFullClassifier storageFull, StoreUnavailableClassifier unavailable)
    {
        _next = next;
        _logger = logger;
        _storageFull = storageFull;
        _unavailable = unavailable;
    }

    public async Task InvokeAsync(HttpContext context)
    {
        try
        {
            await _next(context);
        }
        catch (BadHttpRequestException ex)
        {
            // Truncated bodies, bodies longer than Content-Length, malformed framing, a body over its limit.
            var request = context.Request;
            LogBadRequest(_logger, request.Method, request.Path.Value ?? string.Empty, ex.Message);
            if (!context.Response.HasStarted)
            {
                context.Response.Clear();
                await BadRequestResult(request, ex).ExecuteAsync(context);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException && context.RequestAborted.IsCancellationRequested)
        {
            // The client went away; nothing to answer.
        }
        catch (Exception ex) when (_storageFull.IsStorageFull(ex))
        {
            var request = context.Request;
            LogStorageFull(_logger, request.Method, request.Path.Value ?? string.Empty, ex.GetType().Name + ": " + ex.Message.ReplaceLineEndings(" "));
            if (!context.Response.HasStarted)
            {
                context.Response.Clear();
                await StorageFullResult(request).ExecuteAsync(context);
            }
        }
        catch (Exception ex) when (_unavailable.IsUnavailable(ex))
        {
            var request = context.Request;
            LogUnavailable(_logger, request.Method, request.Path.Value ?? string.Empty, ex.GetType().Name + ": " + ex.Message.ReplaceLineEndings(" "));
            if (!context.Response.HasStarted)
            {
                context.Response.Clear();
                context.Response.Headers.RetryAfter = RetryAfterSeconds;
                await UnavailableResult(request).ExecuteAsync(context);
            }
        }
        catch (Exception ex)
        {
            var request = context.Request;
            LogUnhandled(_logger, ex, request.Method, request.Path.Value ?? string.Empty);
            if (context.Response.HasStarted)
            {
                return;
            }

            context.Response.Clear();
            IResult result = ApiSurfaces.Of(request) == ApiSurface.Management
                ? ProblemResults.InternalError()
                : OciErrorResult.Of(OciErrorCode.Unknown);
            await result.ExecuteAsync(context);
        }
    }

    /// <summary>
    /// A body that broke its framing or its size limit, in the error shape of the API it was sent to: problem details
    /// on <c>/api</c>, an OAuth2 error on <c>/token</c> (only <c>POST</c> has a body), an OCI error elsewhere.
    /// </summary>
    private static IResult BadRequestResult(HttpRequest request, BadHttpRequestException ex)
    {
        var tooLarge = ex.StatusCode == StatusCodes.Status413PayloadTooLarge;
        var message = tooLarge
            ? RequestBodyLimits.TooLarge(RequestBodyLimits.Get(request.HttpContext))
            : "request body did not match its declared length or framing: " + ex.Message;
        return ApiSurfaces.Of(request) switch
        {
            ApiSurface.Management => ProblemResults.Status(ex.StatusCode, message),
            ApiSurface.Token => Results.Json(new Dictionary<string, string> { ["error"] = "invalid_request", ["error_description"] = message }, statusCode: ex.StatusCode),
            _ => new OciErrorResult(new RegistryError(OciErrorCode.SizeInvalid, message), ex.StatusCode),
        };
    }

    /// <summary>507 in the error shape of the API the request was for.</summary>
    internal static IResult StorageFullResult(HttpRequest request) => ApiSurfaces.Of(request) switch
    {
        ApiSurface.Management => ProblemResults.Status(StatusCodes.Status507InsufficientStorage, StorageFull.Message),
        ApiSurface.Token => Results.Json(new Dictionary<string, string> { ["error"] = "temporarily_unavailable", ["error_description"] = StorageFull.Message },
            statusCode: StatusCodes.Status507InsufficientStorage),
        _ => OciErrorResult.Of(OciErrorCode.StorageFull, StorageFull.Message),
    };

    [LoggerMessage(EventId = 2004, Level = LogLevel.Warning, Message = "Storage full in {Method} {Path}: {Reason}")]
    private static partial void LogStorageFull(ILogger logger, string method, string path, string reason);

    /// <summary>What a client is told to wait before it tries again when a store is unreachable.</summary>
    private const string RetryAfterSeconds = "5";

    /// <summary>503 in the error shape of the API the request was for.</summary>
    internal static IResult UnavailableResult(HttpRequest request) => ApiSurfaces.Of(request) switch
    {
        ApiSurface.Management => ProblemResults.Status(StatusCodes.Status503ServiceUnavailable, StoreUnavailableClassifier.Message),
        ApiSurface.Token => Results.Json(new Dictionary<string, string> { ["error"] = "temporarily_unavailable", ["error_description"] = StoreUnavailableClassifier.Message },
            statusCode: StatusCodes.Status503ServiceUnavailable),
        _ => OciErrorResult.Of(OciErrorCode.Unavailable, StoreUnavailableClassifier.Message),
    };

    [LoggerMessage(EventId = 2005, Level = LogLevel.Warning, Message = "Store unreachable in {Method} {Path}: {Reason}")]
    private static partial void LogUnavailable(ILogger logger, string method, string path, string reason);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Warning, Message = "Bad request {Method} {Path}: {Reason}")]
    private static partial void LogBadRequest(ILogger logger, string method, string path, string reason);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Error, Message = "Unhandled error in {Method} {Path}")]
    private static partial void LogUnhandled(ILogger logger, Exception exception, string method, string path);
}
