using System.Text.Json;
using System.Text.Json.Nodes;
using Berth.Oci;
using Berth.Signing;
using Berth.Signing.Cosign;
using Berth.Signing.Trust;
using Berth.Signing.Verification;

namespace Berth.Client;

/// <summary>
/// <c>berth sign REF --key NAME.key [--referrer]</c> and <c>berth verify REF --key NAME.pub</c>: cosign-compatible
/// signatures made and checked on the client, over <c>/v2</c> (<see cref="RegistryClient"/>). The image is resolved to
/// its digest first; signatures name that digest. <c>sign</c> writes the tag scheme (<c>sha256-HEX.sig</c>, appending
/// to a cosign signature manifest already there, so signatures by several keys all stay) or an OCI 1.1 referrer.
/// <c>verify</c> reads both places and exits 0 only when a signature by one of the given keys names exactly this digest.
/// </summary>
internal static class SigningCommands
{
    /// <summary>The most referrers of one image looked at by <c>verify</c>.</summary>
    private const int MaxReferrers = 64;

    public static readonly CommandSpec Sign = new()
    {
        Path = "sign",
        Arguments = ["REF"],
        Summary = "Sign an image in the registry with a private key (a cosign-compatible signature).",
        Details = $"""
            REF is [HOST/]PROJECT/REPO[:TAG|@DIGEST]; the signature names the image's digest, so moving the tag later
            does not move the signature. By default it is stored as cosign does, in the tag sha256-HEX.sig of the same
            repository (added to the signatures already there); --referrer stores it as an OCI 1.1 referrer instead.
            The key is a berth key generate or cosign generate-key-pair key; its passphrase comes from
            {KeyPassphrase.Variable}, else {KeyPassphrase.CosignVariable}, else the terminal or one line of standard input.
            Examples:
              berth sign shop/api:v1.0 --key ci.key
              COSIGN_PASSWORD=... berth sign registry.example.com/shop/api@sha256:... --key cosign.key --referrer
            """,
        Options =
        [
            new("--key", "-k", "FILE", "the private key (NAME.key)"),
            new("--referrer", null, null, "store the signature as an OCI 1.1 referrer instead of the sha256-HEX.sig tag"),
        ],
        Run = SignAsync,
    };

    public static readonly CommandSpec Verify = new()
    {
        Path = "verify",
        Arguments = ["REF"],
        Summary = "Check that an image is signed by a key: exit 0 valid, 1 not (no signature, another key, another digest, altered).",
        Details = """
            Reads the signatures in the sha256-HEX.sig tag and the image's referrers (cosign, sigstore bundles), checks
            each against the public keys given, and prints one line per signature and the result. A signature counts
            only if it verifies with one of the keys and names exactly the image's digest.
            Examples:
              berth verify shop/api:v1.0 --key ci.pub
              berth verify shop/api@sha256:... --key ci.pub --key release.pub -o json
            """,
        Options = [new("--key", "-k", "FILE", "a public key (NAME.pub, PEM PUBLIC KEY); may be repeated", Repeatable: true)],
        Run = VerifyAsync,
    };

    public static IReadOnlyList<CommandSpec> All => [Sign, Verify];

    private static async Task<int> SignAsync(CommandRun run)
    {
        var image = ImageReference.Parse(run.Argument(0));
        var keyPath = run.Option("--key") ?? throw new CommandLineException("--key FILE is required (the private key, NAME.key)");
        using var key = KeyPassphrase.ReadPrivateKey(run, keyPath);
        var (url, login) = image.Server(run);
        using var registry = run.Context.Registry(url, login);
        var target = await ResolveAsync(run, registry, image, needDescriptor: run.Switch("--referrer"));
        var repository = image.Repository;
        var signature = CosignSigner.Sign(key, $"{registry.Host}/{repository}", target.Digest);

        string location;
        int count;
        if (run.Switch("--referrer"))
        {
            var artifact = CosignSigner.BuildManifest([signature], target.Descriptor);
            await PushAsync(registry, repository, artifact, artifact.ManifestDigest.ToString());
            location = $"referrer {repository}@{artifact.ManifestDigest}";
            count = 1;
        }
        else
        {
            var tag = CosignFormat.SignatureTag(target.Digest);
            var signatures = await ExistingSignaturesAsync(run, registry, repository, tag);
            signatures.Add(signature);
            var artifact = CosignSigner.BuildManifest(signatures);
            await PushAsync(registry, repository, artifact, tag);
            location = $"{repository}:{tag}";
            count = signatures.Count;
        }

        if (run.Json)
        {
            Output.Json(run.Out, new JsonObject
            {
                ["repository"] = repository.Value,
                ["digest"] = target.Digest.ToString(),
                ["keyId"] = key.PublicKey.KeyId,
                ["scheme"] = run.Switch("--referrer") ? "referrer" : "tag",
                ["signature"] = location,
                ["signatures"] = count,
            });
        }
        else
        {
            await run.Out.WriteLineAsync($"Signed {repository}@{target.Digest} with key {key.PublicKey.KeyId}");
            await run.Out.WriteLineAsync($"Signature: {location}{(count > 1 ? $" ({count} signatures)" : "")}");
        }

        return 0;
    }

    /// <summary>
    /// The signatures already under the tag-scheme tag, to keep when adding one (as cosign does); none when the tag does
    /// not exist. A tag holding anything but a cosign signature manifest is not replaced.
    /// </summary>
    private static async Task<List<CosignSignature>> ExistingSignaturesAsync(CommandRun run, RegistryClient registry, RepositoryName repository, string tag)
    {
        var existing = await registry.GetManifestAsync(repository, tag);
        if (existing is null)
        {
            return [];
        }

        var manifest = Manifest.TryParse(existing.Body, existing.MediaType, out _);
        if (manifest is null || SignatureVerifier.Classify(manifest) != SignatureFormat.Cosign)
        {
            throw new ClientException($"{repository}:{tag} exists and is not a cosign signature manifest; not replacing it (delete the tag if it is garbage)");
        }

        if (manifest.References.Count >= SigningLimits.MaxSignaturesPerDocument)
        {
            throw new ClientException($"{repository}:{tag} already holds {manifest.References.Count} signatures, the most a verifier reads");
        }

        var signatures = new List<CosignSignature>();
        foreach (var layer in manifest.References)
        {
            var payload = layer.Size <= SigningLimits.MaxPayloadBytes ? await registry.GetBlobAsync(repository, layer.Digest, SigningLimits.MaxPayloadBytes) : null;
            var annotations = Annotations(layer.AnnotationsJson);
            if (payload is null || Digest.Compute(layer.Digest.Algorithm, payload) != layer.Digest
                || !annotations.TryGetValue(CosignFormat.SignatureAnnotation, out var signature))
            {
                await run.Context.Error.WriteLineAsync($"berth: warning: dropping the unreadable signature {layer.Digest} from {repository}:{tag}");
                continue;
            }

            signatures.Add(new CosignSignature(
                payload,
                signature,
                annotations.GetValueOrDefault(CosignFormat.CertificateAnnotation),
                annotations.GetValueOrDefault(CosignFormat.ChainAnnotation)));
        }

        return signatures;
    }

    private static Dictionary<string, string> Annotations(string? json)
    {
        var annotations = new Dictionary<string, string>(StringComparer.Ordinal);
        if (json is null)
        {
            return annotations;
        }

        try
        {
            using var document = JsonDocument.Parse(json);
            if (document.RootElement.ValueKind == JsonValueKind.Object)
            {
                foreach (var property in document.RootElement.EnumerateObject().Where(p => p.Value.ValueKind == JsonValueKind.String))
                {
                    annotations[property.Name] = property.Value.GetString()!;
                }
            }
        }
        catch (JsonException)
        {
            // Unreadable annotations: no signature in them.
        }

        return annotations;
    }

    private static async Task PushAsync(RegistryClient registry, RepositoryName repository, SignatureArtifact artifact, string reference)
    {
        foreach (var blob in artifact.Blobs)
        {
            await registry.PushBlobAsync(repository, blob.Digest, blob.Content);
        }

        await registry.PutManifestAsync(repository, reference, artifact.Manifest, artifact.MediaType);
    }

    private static async Task<int> VerifyAsync(CommandRun run)
    {
        var image = ImageReference.Parse(run.Argument(0));
        var keyPaths = run.Arguments.Values("--key");
        if (keyPaths.Count == 0)
        {
            throw new CommandLineException("--key FILE is required (the public key, NAME.pub)");
        }

        var keys = keyPaths.Select(KeyFiles.ReadPublicKey).ToArray();
        var trust = SignatureTrust.FromKeys(keys);
        var (url, login) = image.Server(run);
        using var registry = run.Context.Registry(url, login);
        var target = await ResolveAsync(run, registry, image, needDescriptor: false);
        var repository = image.Repository;
        var now = run.Context.Time.GetUtcNow();

        var found = new List<(string Source, string Name, SignatureFormat Format, int Count, SignatureVerdict Verdict)>();
        var tag = CosignFormat.SignatureTag(target.Digest);
        try
        {
            if (await registry.GetManifestAsync(repository, tag) is { } tagged)
            {
                found.Add(await CheckAsync(registry, repository, "tag", tag, tagged, target.Digest, trust, now));
            }
        }
        catch (ClientException ex)
        {
            found.Add(("tag", tag, SignatureFormat.None, 0, SignatureVerdict.Invalid(SignatureFailure.Malformed, ex.Message)));
        }

        foreach (var referrer in (await registry.ReferrersAsync(repository, target.Digest)).Take(MaxReferrers))
        {
            RegistryManifest? fetched;
            try
            {
                fetched = referrer.Size <= RegistryClient.MaxManifestBytes ? await registry.GetManifestAsync(repository, referrer.Digest.ToString()) : null;
            }
            catch (ClientException ex)
            {
                // One unreadable referrer does not hide the others; it is no valid signature either.
                found.Add(("referrer", referrer.Digest.ToString(), SignatureFormat.None, 0, SignatureVerdict.Invalid(SignatureFailure.Malformed, ex.Message)));
                continue;
            }

            if (fetched is null)
            {
                continue;
            }

            var manifest = Manifest.TryParse(fetched.Body, fetched.MediaType, out _);
            if (manifest is null || SignatureVerifier.Classify(manifest) == SignatureFormat.None)
            {
                continue; // an SBOM, an attestation of another kind: not a signature
            }

            found.Add(await CheckAsync(registry, repository, "referrer", referrer.Digest.ToString(), fetched, target.Digest, trust, now));
        }

        var result = SignatureVerdict.Combine(found.Select(f => f.Verdict));
        if (run.Json)
        {
            var signatures = new JsonArray();
            foreach (var (source, name, format, count, verdict) in found)
            {
                var entry = Verdict(verdict);
                entry["source"] = source;
                entry["name"] = name;
                entry["format"] = format.ToString();
                entry["signatures"] = count;
                signatures.Add(entry);
            }

            var answer = Verdict(result);
            answer["reference"] = image.Text;
            answer["repository"] = repository.Value;
            answer["digest"] = target.Digest.ToString();
            answer["signatures"] = signatures;
            Output.Json(run.Out, answer);
        }
        else
        {
            await run.Out.WriteLineAsync($"{repository}@{target.Digest}");
            foreach (var (source, name, format, count, verdict) in found)
            {
                var what = format == SignatureFormat.None ? "" : $" ({format}{(count > 1 ? $", {count} signatures" : "")})";
                await run.Out.WriteLineAsync($"  {source} {name}{what}: {Output.Clean(verdict.ToString())}");
            }

            await run.Out.WriteLineAsync(result.IsValid
                ? $"Verified: signed by {result.TrustName}"
                : $"Not verified: {Output.Clean(result.ToString())}");
        }

        return result.IsValid ? 0 : 1;
    }

    /// <summary>Fetches the blobs of one signature manifest (bounded) and verifies it; anything unreadable is a failed verdict.</summary>
    private static async Task<(string Source, string Name, SignatureFormat Format, int Count, SignatureVerdict Verdict)> CheckAsync(
        RegistryClient registry, RepositoryName repository, string source, string name, RegistryManifest fetched, Digest subject, SignatureTrust trust, DateTimeOffset now)
    {
        if (fetched.Body!.Length > SigningLimits.MaxPayloadBytes)
        {
            return (source, name, SignatureFormat.None, 0, SignatureVerdict.Invalid(SignatureFailure.Malformed, "the signature manifest is larger than 1 MiB"));
        }

        var manifest = Manifest.TryParse(fetched.Body, fetched.MediaType, out var error);
        if (manifest is null)
        {
            return (source, name, SignatureFormat.None, 0, SignatureVerdict.Invalid(SignatureFailure.Malformed, "the signature manifest cannot be read: " + error));
        }

        var blobs = new Dictionary<Digest, ReadOnlyMemory<byte>>();
        var wanted = SignatureVerifier.BlobsToFetch(manifest);
        foreach (var layer in wanted)
        {
            try
            {
                if (await registry.GetBlobAsync(repository, layer.Digest, SigningLimits.MaxPayloadBytes) is { } content)
                {
                    blobs[layer.Digest] = content;
                }
            }
            catch (ClientException)
            {
                // Too large or refused: the verifier reports the blob as missing.
            }
        }

        var format = SignatureVerifier.Classify(manifest);
        return (source, name, format, wanted.Count, SignatureVerifier.Verify(manifest, blobs, subject, trust, now));
    }

    private static JsonObject Verdict(SignatureVerdict verdict) => new()
    {
        ["verified"] = verdict.IsValid,
        ["trustName"] = verdict.TrustName,
        ["failure"] = verdict.Failure?.ToString(),
        ["detail"] = verdict.Detail,
    };

    /// <summary>
    /// The image's digest, media type and size: a HEAD with every manifest type accepted. When the registry refuses the
    /// manifest (403: a "signed images only" policy refuses an image that is not signed yet, which is exactly what is
    /// about to be signed), the management API's tag listing names it instead (reading it there is not a pull). A
    /// digest that no tag names still serves the tag scheme, which needs no more than the digest.
    /// </summary>
    private static async Task<RegistryManifest> ResolveAsync(CommandRun run, RegistryClient registry, ImageReference image, bool needDescriptor)
    {
        var (found, denied) = await registry.TryHeadManifestAsync(image.Repository, image.Reference.ToString());
        if (found is not null)
        {
            return found;
        }

        if (denied is null)
        {
            throw new ClientException($"{image.Text}: no such image in {registry.BaseUrl}");
        }

        JsonArray tags;
        using (var management = image.Connect(run))
        {
            try
            {
                tags = await management.GetAllAsync("/api/v1/repositories/tags", ("repository", image.Repository.Value));
            }
            catch (ClientException)
            {
                throw new ClientException(denied);
            }
        }

        var wanted = image.Reference.ToString();
        var match = tags.OfType<JsonObject>().FirstOrDefault(t => Output.Scalar(t[image.Reference.IsDigest ? "digest" : "name"]) == wanted);
        if (match is not null && Digest.TryParse(Output.Scalar(match["digest"]), out var digest)
            && Output.Scalar(match["mediaType"]) is { } mediaType && match["size"] is JsonValue size && size.TryGetValue<long>(out var bytes))
        {
            return new RegistryManifest(null, digest, mediaType, bytes);
        }

        if (image.Reference.Digest is { } asked && !needDescriptor)
        {
            return new RegistryManifest(null, asked, MediaTypes.OciManifest, 0);
        }

        throw new ClientException(denied);
    }
}
