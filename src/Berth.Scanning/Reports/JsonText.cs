using System.Text.Encodings.Web;

namespace Berth.Scanning.Reports;

/// <summary>
/// The JSON encoder of every report: control characters, quotes and backslashes are escaped (so nothing raw reaches a
/// terminal that shows the file), but '+', '&lt;', '&gt;', '&amp;', '\'' and non-ASCII letters are written as they are, so
/// versions like "2.36-9+deb12u4" stay greppable. The reports are files and API bodies, never embedded in HTML.
/// </summary>
internal static class JsonText
{
    public static JavaScriptEncoder Encoder => JavaScriptEncoder.UnsafeRelaxedJsonEscaping;

    /// <summary>
    /// Hands what the writer holds to its stream once it passes 64 KiB, so a report of an image with a hundred thousand
    /// packages is written as it is made instead of being held whole in the writer's buffer.
    /// </summary>
    public static void FlushIfFull(System.Text.Json.Utf8JsonWriter writer)
    {
        if (writer.BytesPending > 64 * 1024)
        {
            writer.Flush();
        }
    }
}
