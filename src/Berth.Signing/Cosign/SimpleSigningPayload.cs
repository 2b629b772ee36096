using System.Text.Json;
using Berth.Oci;

namespace Berth.Signing.Cosign;

/// <summary>The simple-signing payload cosign signs, byte for byte as cosign writes it.</summary>
public static class SimpleSigningPayload
{
    /// <summary>
    /// <c>{"critical":{"identity":{"docker-reference":R},"image":{"docker-manifest-digest":D},"type":"cosign container
    /// image signature"},"optional":null}</c>, compact, in this key order.
    /// </summary>
    public static byte[] Create(string dockerReference, Digest digest)
    {
        ArgumentException.ThrowIfNullOrEmpty(dockerReference);
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteStartObject("critical");
            json.WriteStartObject("identity");
            json.WriteString("docker-reference", dockerReference);
            json.WriteEndObject();
            json.WriteStartObject("image");
            json.WriteString("docker-manifest-digest", digest.ToString());
            json.WriteEndObject();
            json.WriteString("type", CosignFormat.PayloadType);
            json.WriteEndObject();
            json.WriteNull("optional");
            json.WriteEndObject();
        }

        return buffer.ToArray();
    }
}
