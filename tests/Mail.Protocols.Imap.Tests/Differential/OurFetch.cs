using System.Collections.Immutable;
using System.Globalization;
using System.IO.Pipelines;
using Mail.Protocols.Imap.Fetch;
using Mail.Protocols.Storage;

namespace Mail.Protocols.Imap.Tests.Differential;

/// <summary>
/// Our side of the differential: a corpus message summarised by the core's <see cref="MessageSummaryParser"/> (as a
/// store does when the message is stored) and one FETCH item written by <see cref="FetchResponseWriter"/>, with no
/// IMAP session around it.
/// </summary>
internal static class OurFetch
{
    /// <summary>The <c>* n FETCH (...)</c> response octets, or null when the writer refused the item (then the command ends NO [UNKNOWN-CTE]).</summary>
    public static async Task<byte[]?> RenderAsync(CorpusMessage message, uint sequenceNumber, string item)
    {
        MessageSummary summary;
        using (var stream = new MemoryStream(message.Content, writable: false))
        {
            summary = MessageSummaryParser.Parse(stream);
        }
        var info = new MessageInfo(sequenceNumber, MessageFlags.None, [], DateTimeOffset.UnixEpoch, message.Content.Length, 1);
        using var output = new MemoryStream();
        var writer = PipeWriter.Create(output, new StreamPipeWriterOptions(leaveOpen: true));
        var outcome = await FetchResponseWriter.WriteAsync(
            writer,
            sequenceNumber,
            info,
            summary,
            _ => ValueTask.FromResult<Stream>(new MemoryStream(message.Content, writable: false)),
            FetchRequest.Create([ParseItem(item)]));
        await writer.CompleteAsync();
        return outcome switch
        {
            FetchOutcome.Written => output.ToArray(),
            FetchOutcome.UnknownTransferEncoding => null,
            _ => throw new InvalidOperationException($"The writer stopped: {outcome}."),
        };
    }

    /// <summary>
    /// The fetch-att forms the differential asks (<see cref="DovecotCorpusFixture.ItemsFor"/>) as a <see cref="FetchItem"/>:
    /// ENVELOPE, BODYSTRUCTURE, BODY, RFC822.SIZE, BODY.PEEK[section]&lt;partial&gt;, BINARY.PEEK[section] and BINARY.SIZE[section].
    /// </summary>
    public static FetchItem ParseItem(string item)
    {
        switch (item)
        {
            case "ENVELOPE":
                return new FetchItem(FetchItemKind.Envelope);
            case "BODYSTRUCTURE":
                return new FetchItem(FetchItemKind.BodyStructure);
            case "BODY":
                return new FetchItem(FetchItemKind.Body);
            case "RFC822.SIZE":
                return new FetchItem(FetchItemKind.Rfc822Size);
        }
        var open = item.IndexOf('[', StringComparison.Ordinal);
        var close = item.LastIndexOf(']');
        if (open < 0 || close < open)
        {
            throw new ArgumentException($"Not a form the differential asks: {item}.", nameof(item));
        }
        var kind = item[..open] switch
        {
            "BODY.PEEK" => FetchItemKind.BodySection,
            "BINARY.PEEK" => FetchItemKind.Binary,
            "BINARY.SIZE" => FetchItemKind.BinarySize,
            var other => throw new ArgumentException($"Not a form the differential asks: {other}.", nameof(item)),
        };
        uint? start = null;
        uint? length = null;
        var partial = item[(close + 1)..];
        if (partial.Length > 0)
        {
            var numbers = partial.Trim('<', '>').Split('.');
            start = uint.Parse(numbers[0], CultureInfo.InvariantCulture);
            length = uint.Parse(numbers[1], CultureInfo.InvariantCulture);
        }
        return new FetchItem(kind, ParseSection(item[(open + 1)..close]), Peek: kind != FetchItemKind.BinarySize, start, length);
    }

    private static FetchSection ParseSection(string section)
    {
        var parts = ImmutableArray.CreateBuilder<uint>();
        var rest = section;
        while (rest.Length > 0 && char.IsAsciiDigit(rest[0]))
        {
            var dot = rest.IndexOf('.', StringComparison.Ordinal);
            var number = dot < 0 ? rest : rest[..dot];
            parts.Add(uint.Parse(number, CultureInfo.InvariantCulture));
            rest = dot < 0 ? "" : rest[(dot + 1)..];
        }
        var fields = ImmutableArray<string>.Empty;
        var space = rest.IndexOf(' ', StringComparison.Ordinal);
        if (space >= 0)
        {
            fields = [.. rest[(space + 1)..].Trim('(', ')').Split(' ')];
            rest = rest[..space];
        }
        var text = rest switch
        {
            "" => SectionText.None,
            "HEADER" => SectionText.Header,
            "TEXT" => SectionText.Text,
            "MIME" => SectionText.Mime,
            "HEADER.FIELDS" => SectionText.HeaderFields,
            "HEADER.FIELDS.NOT" => SectionText.HeaderFieldsNot,
            _ => throw new ArgumentException($"Not a section the differential asks: {section}.", nameof(section)),
        };
        return new FetchSection(parts.ToImmutable(), text, fields);
    }
}
