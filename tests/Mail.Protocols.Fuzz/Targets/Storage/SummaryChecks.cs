using System.Buffers;
using System.Text.Json;
using Mail.Protocols.Imap.Fetch;
using Mail.Protocols.Storage;

namespace Mail.Protocols.Fuzz.Targets.Storage;

/// <summary>What must hold of any <see cref="MessageSummary"/> a store hands to IMAP, whether just parsed or read back from a cache.</summary>
internal static class SummaryChecks
{
    private static readonly JsonSerializerOptions s_json = new()
    {
        MaxDepth = 1024,
        Converters = { new EscapedOctetsConverter() },
    };

    /// <summary>
    /// The summary of a message of <paramref name="size"/> octets: no null where the contract has none; every part's offsets
    /// ordered (header ≤ body ≤ end) within the message, a part of a multipart within its parent's body and after its
    /// previous sibling, an embedded message within its part's body; at most <see cref="MessageSummaryParser.MaxMimeDepth"/>
    /// levels; the header cache within <see cref="MessageSummaryParser.MaxHeaderLength"/> and of the header's length when
    /// kept; and IMAP can write its ENVELOPE and BODYSTRUCTURE.
    /// </summary>
    public static void Check(MessageSummary summary, long size)
    {
        Fuzz.Check(summary.Envelope is not null && summary.Body is not null, "a summary without its envelope or body");
        Fuzz.Check(summary.BodyOffset >= 0 && summary.BodyOffset <= size, $"the message's body offset {summary.BodyOffset} is outside its {size} octets");
        if (summary.Header is { } header)
        {
            Fuzz.Check(header.Length <= MessageSummaryParser.MaxHeaderLength, $"a header of {header.Length} octets kept, more than the cap");
        }

        CheckEnvelope(summary.Envelope);
        CheckPart(summary.Body, 1, 0, size);
        var buffer = new ArrayBufferWriter<byte>();
        FetchDataWriter.WriteEnvelope(buffer, summary.Envelope);
        FetchDataWriter.WriteBodyStructure(buffer, summary.Body, extensible: true);
        FetchDataWriter.WriteBodyStructure(buffer, summary.Body, extensible: false);
    }

    /// <summary>The summary as the Maildir store's cache writes it (JSON with escaped octets), for comparing two summaries.</summary>
    public static string Json(MessageSummary summary) => JsonSerializer.Serialize(summary, s_json);

    private static void CheckEnvelope(MessageEnvelope envelope)
    {
        foreach (var list in new[] { envelope.From, envelope.Sender, envelope.ReplyTo, envelope.To, envelope.Cc, envelope.Bcc })
        {
            Fuzz.Check(list is not null && list.All(a => a is not null), "an envelope address list that is null or holds null");
        }
    }

    private static void CheckPart(BodyPartSummary part, int depth, long from, long to)
    {
        Fuzz.Check(depth <= MessageSummaryParser.MaxMimeDepth, $"a part at depth {depth}, deeper than {MessageSummaryParser.MaxMimeDepth}");
        Fuzz.Check(part.MediaType is not null && part.MediaSubtype is not null, "a part without its media type");
        Fuzz.Check(part.Parameters is not null && part.DispositionParameters is not null && part.Languages is not null && part.Children is not null,
            "a part with a null list");
        Fuzz.Check(part.Parameters.All(p => p.Key is not null && p.Value is not null) && part.DispositionParameters.All(p => p.Key is not null && p.Value is not null)
            && part.Languages.All(l => l is not null) && part.Children.All(c => c is not null), "a part's list holds null");
        Fuzz.Check(from <= part.HeaderOffset && part.HeaderOffset <= part.BodyOffset && part.BodyOffset <= part.EndOffset && part.EndOffset <= to,
            $"a {part.MediaType}/{part.MediaSubtype} part at [{part.HeaderOffset}, {part.BodyOffset}, {part.EndOffset}] is not ordered within [{from}, {to}]");
        Fuzz.Check(part.Lines >= 0, $"a part of {part.Lines} lines");
        var previous = part.BodyOffset;
        foreach (var child in part.Children)
        {
            CheckPart(child, depth + 1, previous, part.EndOffset);
            previous = child.EndOffset;
        }

        if (part.Message is { } inner)
        {
            Fuzz.Check(part.MessageEnvelope is not null, "an embedded message without its envelope");
            CheckEnvelope(part.MessageEnvelope);
            CheckPart(inner, depth + 1, part.BodyOffset, part.EndOffset);
        }

        if (part.MessageBodyOffset is { } innerBody)
        {
            Fuzz.Check(part.BodyOffset <= innerBody && innerBody <= part.EndOffset, $"an embedded message's body offset {innerBody} is outside its part");
        }
    }
}
