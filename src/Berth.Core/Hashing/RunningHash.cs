using System.Security.Cryptography;

namespace Berth.Core.Hashing;

/// <summary>
/// The hash of an upload while its bytes arrive: OpenSSL's SHA-256 with a state that can be saved with the session
/// (<see cref="Sha256State"/>) where available, otherwise .NET's <see cref="IncrementalHash"/> (nothing to save: the next
/// request rebuilds it by reading the stored data).
/// </summary>
public sealed class RunningHash : IDisposable
{
    private readonly Sha256State? _state;
    private readonly IncrementalHash? _hash;

    private RunningHash(Sha256State? state, IncrementalHash? hash)
    {
        _state = state;
        _hash = hash;
    }

    /// <summary>A new SHA-256, saveable when the platform allows.</summary>
    public static RunningHash CreateSha256() =>
        Sha256State.IsSupported ? new(Sha256State.Create(), null) : new(null, IncrementalHash.CreateHash(HashAlgorithmName.SHA256));

    /// <summary>Any .NET hash (sha512 digests); never saveable.</summary>
    public static RunningHash Of(IncrementalHash hash) => new(null, hash);

    /// <summary>The SHA-256 a saved state continues; null when there is none or it cannot be restored here.</summary>
    public static RunningHash? TryRestoreSha256(byte[]? saved) =>
        saved is not null && Sha256State.TryRestore(saved, out var state) ? new(state, null) : null;

    public void Append(ReadOnlySpan<byte> data)
    {
        if (_state is not null)
        {
            _state.Append(data);
        }
        else
        {
            _hash!.AppendData(data);
        }
    }

    /// <summary>The state to save with the session, or null when this hash cannot be saved.</summary>
    public byte[]? Export() => _state?.Export();

    /// <summary>The digest of what was appended so far; appending may continue.</summary>
    public byte[] GetCurrentHash() => _state is not null ? _state.GetCurrentHash() : _hash!.GetCurrentHash();

    public void Dispose() => _hash?.Dispose();
}
