using System.Text.Encodings.Web;
using System.Text.Json;
using Berth.Core.Registry;
using Berth.Oci;
using Microsoft.AspNetCore.Http;

namespace Berth.Api.Hosting;

/// <summary>The one writer of OCI error bodies: <c>{"errors":[{"code","message","detail"}]}</c> with the code's status.</summary>
public sealed class OciErrorResult : IResult
{
    // Relaxed escaping: bodies are JSON for API clients, never embedded in HTML, so quotes in messages stay readable.
    private static readonly JsonSerializerOptions DetailOptions = new(JsonSerializerDefaults.Web) { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public OciErrorResult(RegistryError error, int? status = null)
    {
        Error = error;
        Status = status;
    }

    public RegistryError Error { get; }

    public int? Status { get; }

    public static OciErrorResult Of(OciErrorCode code, string? message = null, object? detail = null) =>
        new(new RegistryError(code, message, detail));

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        var (code, status, defaultMessage) = OciErrors.Describe(Error.Code);
        var response = httpContext.Response;
        response.StatusCode = Status ?? status;
        response.ContentType = "application/json; charset=utf-8";
        if (HttpMethods.IsHead(httpContext.Request.Method))
        {
            return;
        }

        using var buffer = new MemoryStream();
        await using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            writer.WriteStartArray("errors");
            writer.WriteStartObject();
            writer.WriteString("code", code);
            writer.WriteString("message", Error.Message ?? defaultMessage);
            writer.WritePropertyName("detail");
            if (Error.Detail is null)
            {
                writer.WriteStartObject();
                writer.WriteEndObject();
            }
            else
            {
                JsonSerializer.Serialize(writer, Error.Detail, Error.Detail.GetType(), DetailOptions);
            }

            writer.WriteEndObject();
            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        response.ContentLength = buffer.Length;
        await response.Body.WriteAsync(buffer.GetBuffer().AsMemory(0, (int)buffer.Length), httpContext.RequestAborted);
    }
}
