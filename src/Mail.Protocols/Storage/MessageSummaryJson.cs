using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization;
using Mail.Protocols.Text;

namespace Mail.Protocols.Storage;

/// <summary>
/// <see cref="MessageSummary"/> as JSON, for a store that keeps summaries beside its messages (the Maildir store's cache
/// file, the PostgreSQL store's rows): strings that hold escaped octets (<see cref="EscapedOctets"/>) are written as
/// <c>{"octets": "base64"}</c> so they come back as they were, and what is read back is checked to be a sound summary of
/// a message of the size stored before it is trusted.
/// </summary>
public static class MessageSummaryJson
{
    /// <summary>Writes a summary as UTF-8 JSON.</summary>
    public static byte[] SerializeToUtf8Bytes(MessageSummary summary)
    {
        ArgumentNullException.ThrowIfNull(summary);
        return JsonSerializer.SerializeToUtf8Bytes(summary, SummaryJsonContext.Default.MessageSummary);
    }

    /// <summary>Writes a summary as JSON text.</summary>
    public static string Serialize(MessageSummary summary)
    {
        ArgumentNullException.ThrowIfNull(summary);
        return JsonSerializer.Serialize(summary, SummaryJsonContext.Default.MessageSummary);
    }

    /// <summary>
    /// Reads a summary written by <see cref="SerializeToUtf8Bytes"/>; false for JSON that is damaged, or that is no sound summary
    /// of a message of <paramref name="messageSize"/> octets (a null where a summary has none, offsets outside the message or
    /// out of order, too deep, a header longer than <see cref="MessageSummaryParser.MaxHeaderLength"/>).
    /// </summary>
    public static bool TryDeserialize(ReadOnlySpan<byte> json, long messageSize, [NotNullWhen(true)] out MessageSummary? summary)
    {
        try
        {
            return Checked(JsonSerializer.Deserialize(json, SummaryJsonContext.Default.MessageSummary), messageSize, out summary);
        }
        catch (JsonException)
        {
            summary = null;
            return false;
        }
    }

    /// <summary>Reads a summary written by <see cref="Serialize"/>, as <see cref="TryDeserialize(ReadOnlySpan{byte}, long, out MessageSummary?)"/> does.</summary>
    public static bool TryDeserialize(ReadOnlySpan<char> json, long messageSize, [NotNullWhen(true)] out MessageSummary? summary)
    {
        try
        {
            return Checked(JsonSerializer.Deserialize(json, SummaryJsonContext.Default.MessageSummary), messageSize, out summary);
        }
        catch (JsonException)
        {
            summary = null;
            return false;
        }
    }

    private static bool Checked(MessageSummary? read, long messageSize, [NotNullWhen(true)] out MessageSummary? summary)
    {
        summary = read is { Body: { } body } && read with { Body = WithListsRead(body) } is var sound && IsSound(sound, messageSize) ? sound : null;
        return summary is not null;
    }

    // What the parser makes of a message of that size, and IMAP relies on: no null where the summary has none, every part's
    // offsets ordered within the message (a part of a multipart within its parent's body, after its previous sibling, an
    // embedded message within its part's body), at most MaxMimeDepth levels, a header within MaxHeaderLength. JSON that
    // parses but is none of that was damaged or written by another hand: refused like a torn line.
    private static bool IsSound(MessageSummary summary, long size) =>
        summary is { Envelope: { } envelope, Body: { } body }
        && summary.BodyOffset >= 0 && summary.BodyOffset <= size
        && (summary.Header is not { } header || header.Length <= MessageSummaryParser.MaxHeaderLength)
        && IsSound(envelope) && IsSound(body, 1, 0, size);

    private static bool IsSound(MessageEnvelope envelope) =>
        new[] { envelope.From, envelope.Sender, envelope.ReplyTo, envelope.To, envelope.Cc, envelope.Bcc }.All(list => list is not null && list.All(a => a is not null));

    private static bool IsSound(BodyPartSummary part, int depth, long from, long to)
    {
        if (depth > MessageSummaryParser.MaxMimeDepth || part.MediaType is null || part.MediaSubtype is null
            || part.Parameters is null || part.DispositionParameters is null || part.Languages is null || part.Children is null
            || part.Parameters.Any(p => p.Key is null || p.Value is null) || part.DispositionParameters.Any(p => p.Key is null || p.Value is null)
            || part.Languages.Any(l => l is null) || part.Lines < 0
            || !(from <= part.HeaderOffset && part.HeaderOffset <= part.BodyOffset && part.BodyOffset <= part.EndOffset && part.EndOffset <= to)
            || part.MessageBodyOffset is { } innerBody && (innerBody < part.BodyOffset || innerBody > part.EndOffset))
        {
            return false;
        }
        var previous = part.BodyOffset;
        foreach (var child in part.Children)
        {
            if (child is null || !IsSound(child, depth + 1, previous, part.EndOffset))
            {
                return false;
            }
            previous = child.EndOffset;
        }
        return part.Message is not { } inner
            || part.MessageEnvelope is { } innerEnvelope && IsSound(innerEnvelope) && IsSound(inner, depth + 1, part.BodyOffset, part.EndOffset);
    }

    // The generated reader gives every init-only property of a part a value when it makes one, so a list the JSON leaves out
    // (the writer always writes them; older or hand-made JSON may not) is null instead of the type's empty default:
    // read as empty, as the reflection reader did. A list written as null reads as empty too; a null inside one stays
    // and fails IsSound.
    private static BodyPartSummary WithListsRead(BodyPartSummary part) => part with
    {
        Parameters = part.Parameters ?? [],
        DispositionParameters = part.DispositionParameters ?? [],
        Languages = part.Languages ?? [],
        Children = part.Children is { } children ? [.. children.Select(child => child is null ? null! : WithListsRead(child))] : [],
        Message = part.Message is { } inner ? WithListsRead(inner) : null,
    };
}

/// <summary>
/// Strings of a serialised summary: as JSON strings, except one holding escaped octets (<see cref="EscapedOctets"/>,
/// lone surrogates that JSON cannot carry: System.Text.Json would write U+FFFD), which is written as
/// <c>{"octets": "base64"}</c> and decoded back to the same string.
/// </summary>
internal sealed class EscapedOctetsConverter : JsonConverter<string>
{
    private const string OctetsProperty = "octets";

    public override bool HandleNull => false;

    public override string? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            return reader.GetString();
        }
        string? octets = null;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            if (reader.TokenType != JsonTokenType.PropertyName)
            {
                throw new JsonException("Expected a property name.");
            }
            var isOctets = reader.ValueTextEquals(OctetsProperty);
            reader.Read();
            if (isOctets && reader.TokenType == JsonTokenType.String)
            {
                octets = reader.GetString();
            }
            else
            {
                reader.Skip();
            }
        }
        if (octets is null)
        {
            throw new JsonException("An escaped string without its octets.");
        }
        try
        {
            return EscapedOctets.Decode(Convert.FromBase64String(octets));
        }
        catch (FormatException ex)
        {
            throw new JsonException("Escaped octets that are not base64.", ex);
        }
    }

    public override void Write(Utf8JsonWriter writer, string value, JsonSerializerOptions options)
    {
        if (!EscapedOctets.HasEscapes(value))
        {
            writer.WriteStringValue(value);
            return;
        }
        writer.WriteStartObject();
        writer.WriteBase64String(OctetsProperty, EscapedOctets.GetBytes(value));
        writer.WriteEndObject();
    }
}

/// <summary>
/// The summaries' JSON, generated at build time (no reflection, so the store runs trimmed and under Native AOT). Each MIME
/// level costs two JSON levels (a part's object and its Children array; an embedded message only one), and the deepest
/// part adds its own lists (Parameters: an array of objects) below the summary's root.
/// </summary>
[JsonSourceGenerationOptions(MaxDepth = 2 * (MessageSummaryParser.MaxMimeDepth + 2), Converters = [typeof(EscapedOctetsConverter)])]
[JsonSerializable(typeof(MessageSummary))]
internal sealed partial class SummaryJsonContext : JsonSerializerContext;
