using System.Net;
using System.Net.Sockets;
using Amazon.S3;
using Azure;
using Berth.Core.Storage;
using Berth.Metadata.Postgres;
using Berth.Storage.Azure;
using Berth.Storage.S3;
using Npgsql;

namespace Berth.Tests;

/// <summary>Which providers' errors mean "the store cannot be reached now" (503), and which are ordinary failures.</summary>
public sealed class StoreUnavailableDetectorTests
{
    private static readonly StoreUnavailableClassifier Classifier = new(
        [new PostgresUnavailable(), new S3Unavailable(), new AzureUnavailable()]);

    public static TheoryData<string, Exception, bool> Cases() => new()
    {
        { "refused connection", new NpgsqlException("Failed to connect", new SocketException((int)SocketError.ConnectionRefused)), true },
        { "connection cut", new NpgsqlException("Exception while reading from stream", new EndOfStreamException()), true },
        { "timeout", new NpgsqlException("The operation has timed out", new TimeoutException()), true },
        { "server shutting down", new PostgresException("terminating connection due to administrator command", "FATAL", "FATAL", PostgresErrorCodes.AdminShutdown), true },
        { "connection failure state", new PostgresException("connection failure", "FATAL", "FATAL", "08006"), true },
        { "too many connections", new PostgresException("sorry, too many clients already", "FATAL", "FATAL", PostgresErrorCodes.TooManyConnections), true },
        { "unique violation", new PostgresException("duplicate key", "ERROR", "ERROR", PostgresErrorCodes.UniqueViolation), false },
        { "syntax error", new PostgresException("syntax error", "ERROR", "ERROR", PostgresErrorCodes.SyntaxError), false },
        { "S3 slow down", new AmazonS3Exception("Slow Down") { StatusCode = HttpStatusCode.ServiceUnavailable }, true },
        { "S3 gateway timeout", new AmazonS3Exception("timeout") { StatusCode = HttpStatusCode.GatewayTimeout }, true },
        { "S3 no such key", new AmazonS3Exception("no such key") { StatusCode = HttpStatusCode.NotFound }, false },
        { "S3 access denied", new AmazonS3Exception("denied") { StatusCode = HttpStatusCode.Forbidden }, false },
        { "no HTTP connection", new HttpRequestException("Connection refused", new SocketException((int)SocketError.ConnectionRefused)), true },
        { "HTTP 404", new HttpRequestException("not found", null, HttpStatusCode.NotFound), false },
        { "Azure no answer", new RequestFailedException(0, "Connection refused"), true },
        { "Azure server busy", new RequestFailedException(503, "Server Busy"), true },
        { "Azure blob not found", new RequestFailedException(404, "BlobNotFound"), false },
        { "wrapped", new InvalidOperationException("outer", new NpgsqlException("Failed to connect", new SocketException((int)SocketError.ConnectionRefused))), true },
        { "aggregated", new AggregateException(new IOException("x"), new RequestFailedException(0, "refused")), true },
        { "plain failure", new InvalidOperationException("a bug"), false },
        { "disk full", new IOException("No space left on device", 28), false },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Classifier_TellsAnUnreachableStoreFromOtherFailures(string name, Exception exception, bool unavailable) =>
        Assert.True(Classifier.IsUnavailable(exception) == unavailable, name);

    [Fact]
    public void Classifier_WithoutProviders_KnowsNothing() =>
        Assert.False(StoreUnavailableClassifier.None.IsUnavailable(new NpgsqlException("Failed to connect", new SocketException())));
}
