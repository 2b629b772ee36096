using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Berth.Api.Hosting;

/// <summary>
/// RFC 9457 problem details for the management API. Each is a framework <c>ProblemHttpResult</c>, which writes through
/// the registered <c>IProblemDetailsService</c> (<c>AddProblemDetails</c>): one path for handlers' refusals, bodies
/// over their limit and unhandled exceptions alike.
/// </summary>
public static class ProblemResults
{
    public static ProblemHttpResult Status(int status, string detail) => status switch
    {
        // Statuses the framework has no default title and type for.
        StatusCodes.Status413PayloadTooLarge => TypedResults.Problem(detail, statusCode: status, title: "Content Too Large", type: "https://tools.ietf.org/html/rfc9110#section-15.5.14"),
        StatusCodes.Status429TooManyRequests => TypedResults.Problem(detail, statusCode: status, title: "Too Many Requests", type: "https://tools.ietf.org/html/rfc6585#section-4"),
        StatusCodes.Status507InsufficientStorage => TypedResults.Problem(detail, statusCode: status, title: "Insufficient Storage", type: "https://www.rfc-editor.org/rfc/rfc4918#section-11.5"),
        _ => TypedResults.Problem(detail: detail, statusCode: status),
    };

    /// <summary>The answer to an unhandled exception: nothing about its cause, which is in the server's log.</summary>
    public static ProblemHttpResult InternalError() =>
        TypedResults.Problem("the server failed to handle the request; see its log", statusCode: StatusCodes.Status500InternalServerError,
            title: "Internal server error", type: "https://tools.ietf.org/html/rfc9110#section-15.6.1");
}
