using System.Buffers;
using Mail.Protocols.Imap.Fetch;
using Mail.Protocols.Imap.Protocol;
using Mail.Protocols.Text;

namespace Mail.Protocols.Fuzz.Targets.Imap;

/// <summary>
/// FETCH's attributes and modifiers (<see cref="FetchParser"/>: RFC 9051 §9 fetch-att, RFC 3516 BINARY, RFC 7162
/// CHANGEDSINCE and VANISHED), as FETCH and as UID FETCH. Properties: only <see cref="ImapParseException"/>, with a
/// one-line BAD text; within the caps (items, section part numbers, header field names); part numbers are non-zero,
/// a partial range has a start of 0 or more and a length of 1 or more; UID FETCH has UID and CHANGEDSINCE has MODSEQ;
/// VANISHED only in UID FETCH with CHANGEDSINCE. Round trip: the items written back as a client would (sections with
/// the response writer's section-spec) parse to the same items and modifiers.
/// </summary>
internal sealed class FetchTarget : IFuzzTarget
{
    public string Name => "ImapFetch";

    public void Run(ReadOnlySpan<byte> input)
    {
        foreach (var isUid in (ReadOnlySpan<bool>)[false, true])
        {
            var request = Parse(input, isUid);
            if (request is null)
            {
                continue;
            }

            Fuzz.Check(request.Items.Length <= FetchParser.MaxItems + 2, $"{request.Items.Length} items");
            Fuzz.Check(!isUid || request.Items.Any(i => i.Kind == FetchItemKind.Uid), "UID FETCH without UID");
            Fuzz.Check(request.ChangedSince is null || request.Items.Any(i => i.Kind == FetchItemKind.ModSeq), "CHANGEDSINCE without MODSEQ");
            Fuzz.Check(!request.Vanished || (isUid && request.ChangedSince is not null), "VANISHED without UID FETCH and CHANGEDSINCE");
            foreach (var item in request.Items)
            {
                CheckItem(item);
            }

            var written = Write(request);
            var again = Parse(written, isUid)
                ?? throw new FuzzPropertyException($"the items written back, \"{Fuzz.Escape(written)}\", do not parse");
            Fuzz.Check(again.Items.SequenceEqual(request.Items), $"the items written back, \"{Fuzz.Escape(written)}\", parse to other items");
            Fuzz.Equal(request.ChangedSince, again.ChangedSince, "CHANGEDSINCE written back");
            Fuzz.Equal(request.Vanished, again.Vanished, "VANISHED written back");
        }
    }

    private static FetchRequest? Parse(ReadOnlySpan<byte> text, bool isUid)
    {
        var reader = new ImapReader(text);
        try
        {
            var request = FetchParser.Read(ref reader, isUid, qresyncEnabled: true);
            reader.ReadEnd();
            Fuzz.Equal(0, reader.Depth, "nesting depth after FETCH");
            return request;
        }
        catch (ImapParseException exception)
        {
            ImapText.CheckBad(exception);
            return null;
        }
    }

    private static void CheckItem(FetchItem item)
    {
        if (item.Section is { } section)
        {
            Fuzz.Check(section.Parts.Length <= FetchParser.MaxSectionParts, $"{section.Parts.Length} section part numbers");
            Fuzz.Check(!section.Parts.Contains(0u), "a section part number 0");
            Fuzz.Check(section.Fields.Length <= FetchParser.MaxHeaderFields, $"{section.Fields.Length} header field names");
            Fuzz.Check(section.Text != SectionText.Mime || !section.Parts.IsEmpty, "MIME without a part number");
            Fuzz.Check(section.Fields.IsEmpty == section.Text is not (SectionText.HeaderFields or SectionText.HeaderFieldsNot), "header fields only with HEADER.FIELDS");
        }

        Fuzz.Check(item.Section is not null == item.Kind is FetchItemKind.BodySection or FetchItemKind.Binary or FetchItemKind.BinarySize, $"{item.Kind} and its section");
        Fuzz.Check(item.PartialStart is null == item.PartialLength is null, "half a partial range");
        Fuzz.Check(item.PartialStart is null or >= 0 && item.PartialLength is null or >= 1, $"the partial range <{item.PartialStart}.{item.PartialLength}>");
    }

    private static byte[] Write(FetchRequest request)
    {
        var output = new ArrayBufferWriter<byte>();
        output.Write("("u8);
        for (var i = 0; i < request.Items.Length; i++)
        {
            if (i > 0)
            {
                output.Write(" "u8);
            }

            var item = request.Items[i];
            output.Write(item.Kind switch
            {
                FetchItemKind.Flags => "FLAGS"u8,
                FetchItemKind.InternalDate => "INTERNALDATE"u8,
                FetchItemKind.Rfc822Size => "RFC822.SIZE"u8,
                FetchItemKind.Uid => "UID"u8,
                FetchItemKind.ModSeq => "MODSEQ"u8,
                FetchItemKind.Envelope => "ENVELOPE"u8,
                FetchItemKind.Body => "BODY"u8,
                FetchItemKind.BodyStructure => "BODYSTRUCTURE"u8,
                FetchItemKind.BodySection => item.Peek ? "BODY.PEEK"u8 : "BODY"u8,
                FetchItemKind.Binary => item.Peek ? "BINARY.PEEK"u8 : "BINARY"u8,
                FetchItemKind.BinarySize => "BINARY.SIZE"u8,
                FetchItemKind.Rfc822 => "RFC822"u8,
                FetchItemKind.Rfc822Header => "RFC822.HEADER"u8,
                _ => "RFC822.TEXT"u8,
            });
            if (item.Section is { } section)
            {
                output.Write("["u8);
                FetchResponseWriter.WriteSectionSpec(output, section);
                output.Write("]"u8);
            }

            if (item.PartialStart is { } start)
            {
                output.Write("<"u8);
                output.WriteNumber(start);
                output.Write("."u8);
                output.WriteNumber(item.PartialLength!.Value);
                output.Write(">"u8);
            }
        }

        output.Write(")"u8);
        if (request.ChangedSince is { } since)
        {
            output.Write(" (CHANGEDSINCE "u8);
            output.WriteNumber(since);
            output.Write(request.Vanished ? " VANISHED)"u8 : ")"u8);
        }

        return output.WrittenSpan.ToArray();
    }
}
