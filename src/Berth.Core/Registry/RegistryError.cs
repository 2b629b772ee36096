using Berth.Oci;

namespace Berth.Core.Registry;

/// <summary>A failure the API renders as an OCI error body. <see cref="Detail"/> is serialised as JSON.</summary>
public sealed record RegistryError(OciErrorCode Code, string? Message = null, object? Detail = null);

/// <summary>Either a value or a <see cref="RegistryError"/>.</summary>
public readonly struct Result<T>
{
    private Result(T? value, RegistryError? error)
    {
        Value = value;
        Error = error;
    }

    public T? Value { get; }

    public RegistryError? Error { get; }

    public bool IsSuccess => Error is null;

    public static implicit operator Result<T>(T value) => new(value, null);

    public static implicit operator Result<T>(RegistryError error) => new(default, error);
}
