using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Mail.Protocols.Storage;
using Mail.Protocols.Text;

namespace Mail.Protocols.Maildir.Index;

/// <summary>
/// The MIME summaries (envelope, body structure, offsets) of a folder's messages, computed once and kept in
/// "mailprotocols.summaries" beside the index so a restart does not parse every message again for IMAP.
/// One line per message, <c>UID JSON</c>, after a header naming the format's version and the folder's UIDVALIDITY;
/// a cache only, so it is not flushed to the disk, a damaged line (torn, or JSON that is no sound summary of the message:
/// see IsSound) is skipped and a file of another version or
/// UIDVALIDITY is started afresh, except version 3, whose summaries lack only the header octets (see <see cref="Magic"/>).
/// </summary>
internal sealed class SummaryCache(string directory, uint uidValidity, UnixFileMode permissions)
{
    public const string FileName = "mailprotocols.summaries";
    // The format's version: raised whenever MessageSummary or MessageSummaryParser changes what a summary holds, so a
    // cache of an older version is started afresh instead of read as if it were current (2: header values as in the
    // message, the message's header end and an embedded message's header end; 3: header octets that are not UTF-8
    // kept as EscapedOctets instead of read as Latin-1, and written as {"octets": base64}; 4: the header's octets,
    // MessageSummary.Header, as base64). A version 3 file is upgraded, not started afresh: its summaries are still right
    // and are read, the file rewritten under version 4, and the store fills in each header from the message's first
    // octets when it is first asked for (Replace), without parsing the message again.
    internal const string Magic = "mailprotocols-summaries 4";
    private const string UpgradableMagic = "mailprotocols-summaries 3";
    private readonly string _path = Path.Combine(directory, FileName);
    private Dictionary<uint, MessageSummary>? _summaries;

    public bool TryGet(uint uid, IReadOnlyDictionary<uint, MessageRecord> live, out MessageSummary summary)
    {
        Load(live);
        return _summaries!.TryGetValue(uid, out summary!);
    }

    public void Add(uint uid, MessageSummary summary)
    {
        if (_summaries is null || !_summaries.TryAdd(uid, summary))
        {
            return;
        }
        using var file = Durability.DurableIO.Open(_path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite, permissions);
        file.Write(Encoding.UTF8.GetBytes(Line(uid, summary)));
    }

    /// <summary>Records a summary that replaces the one known (a version 3 summary now with its header); the later line wins on reading.</summary>
    public void Replace(uint uid, MessageSummary summary)
    {
        if (_summaries is null)
        {
            return;
        }
        _summaries[uid] = summary;
        using var file = Durability.DurableIO.Open(_path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite, permissions);
        file.Write(Encoding.UTF8.GetBytes(Line(uid, summary)));
    }

    // What the parser makes of a message of that size, and IMAP relies on: no null where the summary has none, every part's
    // offsets ordered within the message (a part of a multipart within its parent's body, after its previous sibling, an
    // embedded message within its part's body), at most MaxMimeDepth levels, a header within MaxHeaderLength. A line that
    // parses as JSON but is none of that was damaged or written by another hand: skipped like a torn one.
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

    // The generated reader gives every init-only property of a part a value when it makes one, so a list a line leaves out
    // (the writer always writes them; an older or hand-made line may not) is null instead of the type's empty default:
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

    private static string Line(uint uid, MessageSummary summary) =>
        string.Create(CultureInfo.InvariantCulture, $"{uid} {JsonSerializer.Serialize(summary, SummaryJson.Default.MessageSummary)}\n");

    // Reads the file once; drops summaries of expunged messages by rewriting it when they are the majority.
    private void Load(IReadOnlyDictionary<uint, MessageRecord> live)
    {
        if (_summaries is not null)
        {
            return;
        }
        _summaries = [];
        var header = $"{Magic} {uidValidity}";
        var lines = File.Exists(_path) ? File.ReadAllLines(_path) : [];
        var upgrade = lines.Length > 0 && lines[0] == $"{UpgradableMagic} {uidValidity}";
        if (lines.Length == 0 || (lines[0] != header && !upgrade))
        {
            using var file = Durability.DurableIO.Open(_path, FileMode.Create, FileAccess.Write, FileShare.ReadWrite, permissions);
            file.Write(Encoding.UTF8.GetBytes(header + "\n"));
            return;
        }
        var dead = 0;
        foreach (var line in lines.AsSpan(1))
        {
            var space = line.IndexOf(' ', StringComparison.Ordinal);
            if (space <= 0 || !uint.TryParse(line.AsSpan(0, space), NumberStyles.None, CultureInfo.InvariantCulture, out var uid))
            {
                continue;
            }
            if (!live.TryGetValue(uid, out var record))
            {
                dead++;
                continue;
            }
            try
            {
                if (JsonSerializer.Deserialize(line.AsSpan(space + 1), SummaryJson.Default.MessageSummary) is { Body: { } body } read
                    && read with { Body = WithListsRead(body) } is var summary && IsSound(summary, record.Size))
                {
                    // A later line replaces an earlier one (Replace), which is then dead weight in the file.
                    dead += _summaries.ContainsKey(uid) ? 1 : 0;
                    _summaries[uid] = summary;
                }
            }
            catch (JsonException)
            {
                // A torn or damaged line: that message is parsed again when asked for.
            }
        }
        if (upgrade || (dead > 64 && dead > _summaries.Count))
        {
            var text = new StringBuilder(header).Append('\n');
            foreach (var (uid, summary) in _summaries)
            {
                text.Append(Line(uid, summary));
            }
            Durability.DurableIO.WriteAtomically(_path, Encoding.UTF8.GetBytes(text.ToString()), sync: false, permissions);
        }
    }
}

/// <summary>
/// Strings of a summary in the cache: as JSON strings, except one holding escaped octets (<see cref="EscapedOctets"/>,
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
/// The cache's JSON, generated at build time (no reflection, so the store runs trimmed and under Native AOT). Each MIME
/// level costs two JSON levels (a part's object and its Children array; an embedded message only one), and the deepest
/// part adds its own lists (Parameters: an array of objects) below the summary's root.
/// </summary>
[JsonSourceGenerationOptions(MaxDepth = 2 * (MessageSummaryParser.MaxMimeDepth + 2), Converters = [typeof(EscapedOctetsConverter)])]
[JsonSerializable(typeof(MessageSummary))]
internal sealed partial class SummaryJson : JsonSerializerContext;
