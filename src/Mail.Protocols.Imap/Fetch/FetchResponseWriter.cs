using System.Buffers;
using System.IO.Pipelines;
using Mail.Protocols.Storage;
using Mail.Protocols.Text;

namespace Mail.Protocols.Imap.Fetch;

/// <summary>When section data goes as a literal8 <c>~{n}</c> (RFC 3516 §4.2).</summary>
internal enum Literal8
{
    /// <summary>Never (BODY[...]: a literal cannot hold NUL, and a header has none).</summary>
    Never,
    /// <summary>When the data holds a NUL octet.</summary>
    IfNul,
    /// <summary>Always (decoded BINARY data).</summary>
    Always,
}

/// <summary>What became of one message's FETCH response.</summary>
internal enum FetchOutcome
{
    /// <summary>The <c>* n FETCH (...)</c> line was written.</summary>
    Written,

    /// <summary>
    /// Nothing was written: a BINARY item names a part whose Content-Transfer-Encoding is not one the server decodes.
    /// The command ends with <c>NO [UNKNOWN-CTE]</c> (RFC 3516 §4.3, RFC 9051 §7.1).
    /// </summary>
    UnknownTransferEncoding,

    /// <summary>The output's reader completed (the connection is gone); writing stopped.</summary>
    OutputCompleted,
}

/// <summary>
/// Writes one message's <c>* n FETCH (...)</c> response, its items in the order of the request, section contents
/// copied from the content stream in bounded chunks straight to the output, which is flushed whenever more than
/// <see cref="FlushThreshold"/> octets wait in it (so a FETCH of many messages, or of a large one, streams, and a client
/// that does not read holds the writer at the pipe's pause threshold instead of growing memory).
/// </summary>
internal static class FetchResponseWriter
{
    /// <summary>Octets buffered in the output beyond which the writer flushes.</summary>
    public const int FlushThreshold = 64 * 1024;

    /// <summary>
    /// Writes the FETCH response of message <paramref name="sequenceNumber"/>.
    /// </summary>
    /// <param name="output">The connection's output.</param>
    /// <param name="sequenceNumber">The message's sequence number in the session's view of the folder.</param>
    /// <param name="info">The message's UID, flags, keywords, date, size and MODSEQ.</param>
    /// <param name="summary">Its MIME summary; required when <see cref="FetchRequest.Needs"/> has <see cref="FetchNeeds.Summary"/>.</param>
    /// <param name="openContent">
    /// Opens its content (from offset 0); required when <see cref="FetchRequest.NeedsContent"/> says so (an item needs the
    /// content, or a header item does and the summary does not hold the header). It may be called more than once for a
    /// stream that cannot seek. Header items are written from the summary's header when it holds it, whether or not this is given.
    /// </param>
    /// <param name="request">The parsed request.</param>
    /// <param name="cancellationToken">Cancels the writing.</param>
    /// <exception cref="InvalidDataException">The content ended before its size; a literal was announced and cannot be completed, so the connection must be closed.</exception>
    public static async ValueTask<FetchOutcome> WriteAsync(
        PipeWriter output,
        uint sequenceNumber,
        MessageInfo info,
        MessageSummary? summary,
        Func<CancellationToken, ValueTask<Stream>>? openContent,
        FetchRequest request,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(info);
        ArgumentNullException.ThrowIfNull(request);
        if ((request.Needs & FetchNeeds.Summary) != 0 && summary is null)
        {
            throw new ArgumentException("The request needs the message's summary.", nameof(summary));
        }
        if (openContent is null && request.NeedsContent(summary))
        {
            throw new ArgumentException("The request needs the message's content.", nameof(openContent));
        }

        // RFC 3516 §4.3: a part whose encoding cannot be decoded fails the command; check before writing anything.
        foreach (var item in request.Items)
        {
            if (item.Kind is FetchItemKind.Binary or FetchItemKind.BinarySize)
            {
                var range = SectionLocator.Locate(summary, info.Size, item.Section!);
                if (range.Part is { } part && !FetchDataWriter.IsMultipart(part) && !TransferDecoder.IsKnown(part.TransferEncoding))
                {
                    return FetchOutcome.UnknownTransferEncoding;
                }
            }
        }

        // Sections within the top-level header are read from the summary's copy of it when it has one.
        var content = (request.Needs & (FetchNeeds.Content | FetchNeeds.Header)) == 0
            ? null
            : new ContentReader(openContent, summary is { HasHeader: true } ? summary.Header!.Value : default);
        try
        {
            output.Write("* "u8);
            output.WriteNumber((ulong)sequenceNumber);
            output.Write(" FETCH ("u8);
            for (var i = 0; i < request.Items.Length; i++)
            {
                if (i > 0)
                {
                    output.Write(" "u8);
                }
                if (!await WriteItemAsync(output, info, summary, content, request.Items[i], cancellationToken).ConfigureAwait(false))
                {
                    return FetchOutcome.OutputCompleted;
                }
            }
            output.Write(")\r\n"u8);
            return await FlushIfFullAsync(output, cancellationToken).ConfigureAwait(false) ? FetchOutcome.Written : FetchOutcome.OutputCompleted;
        }
        finally
        {
            if (content is not null)
            {
                await content.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private static async ValueTask<bool> WriteItemAsync(PipeWriter output, MessageInfo info, MessageSummary? summary, ContentReader? content, FetchItem item, CancellationToken cancellationToken)
    {
        switch (item.Kind)
        {
            case FetchItemKind.Flags:
                output.Write("FLAGS "u8);
                FetchDataWriter.WriteFlags(output, info.Flags, info.Keywords);
                return true;
            case FetchItemKind.InternalDate:
                output.Write("INTERNALDATE "u8);
                FetchDataWriter.WriteDateTime(output, info.InternalDate);
                return true;
            case FetchItemKind.Rfc822Size:
                output.Write("RFC822.SIZE "u8);
                output.WriteNumber(info.Size);
                return true;
            case FetchItemKind.Uid:
                output.Write("UID "u8);
                output.WriteNumber((ulong)info.Uid);
                return true;
            case FetchItemKind.ModSeq:
                output.Write("MODSEQ ("u8);
                output.WriteNumber(info.ModSeq);
                output.Write(")"u8);
                return true;
            case FetchItemKind.Envelope:
                output.Write("ENVELOPE "u8);
                FetchDataWriter.WriteEnvelope(output, summary!.Envelope);
                return true;
            case FetchItemKind.Body:
                output.Write("BODY "u8);
                FetchDataWriter.WriteBodyStructure(output, summary!.Body, extensible: false);
                return true;
            case FetchItemKind.BodyStructure:
                output.Write("BODYSTRUCTURE "u8);
                FetchDataWriter.WriteBodyStructure(output, summary!.Body, extensible: true);
                return true;
            case FetchItemKind.Rfc822:
                output.Write("RFC822 "u8);
                return await WriteRangeAsync(output, content!, SectionLocator.Locate(summary, info.Size, FetchSection.Whole), null, null, cancellationToken).ConfigureAwait(false);
            case FetchItemKind.Rfc822Header:
                output.Write("RFC822.HEADER "u8);
                return await WriteRangeAsync(output, content!, SectionLocator.Locate(summary, info.Size, FetchSection.Of(SectionText.Header)), null, null, cancellationToken).ConfigureAwait(false);
            case FetchItemKind.Rfc822Text:
                output.Write("RFC822.TEXT "u8);
                return await WriteRangeAsync(output, content!, SectionLocator.Locate(summary, info.Size, FetchSection.Of(SectionText.Text)), null, null, cancellationToken).ConfigureAwait(false);
            case FetchItemKind.BodySection:
                return await WriteBodySectionAsync(output, info, summary, content!, item, cancellationToken).ConfigureAwait(false);
            case FetchItemKind.Binary:
                return await WriteBinaryAsync(output, info, summary, content!, item, cancellationToken).ConfigureAwait(false);
            case FetchItemKind.BinarySize:
                return await WriteBinarySizeAsync(output, info, summary, content!, item, cancellationToken).ConfigureAwait(false);
            default:
                throw new ArgumentOutOfRangeException(nameof(item), item.Kind, "Not a FETCH item.");
        }
    }

    // BODY[section]<origin> SP nstring; the origin only for a partial fetch (RFC 9051 §7.5.2).
    private static async ValueTask<bool> WriteBodySectionAsync(PipeWriter output, MessageInfo info, MessageSummary? summary, ContentReader content, FetchItem item, CancellationToken cancellationToken)
    {
        var section = item.Section!;
        output.Write("BODY["u8);
        WriteSectionSpec(output, section);
        output.Write("]"u8);
        if (item.PartialStart is { } start)
        {
            output.Write("<"u8);
            output.WriteNumber(start);
            output.Write(">"u8);
        }
        output.Write(" "u8);
        var range = SectionLocator.Locate(summary, info.Size, section);
        if (range.Exists && section.Text is SectionText.HeaderFields or SectionText.HeaderFieldsNot)
        {
            // The text after this header (BODY[TEXT] or BODY[n.TEXT]): whether the message has a body decides whether a
            // header without a blank line gets one (RFC 9051 §6.4.5).
            var text = SectionLocator.Locate(summary, info.Size, section with { Text = SectionText.Text, Fields = [] });
            var filter = new HeaderFieldFilter(section.Fields, section.Text == SectionText.HeaderFieldsNot, bodyFollows: text.Length > 0);
            return await WriteTransformedAsync(output, content, range, filter, item.PartialStart, item.PartialLength, Literal8.Never, cancellationToken).ConfigureAwait(false);
        }
        return await WriteRangeAsync(output, content, range, item.PartialStart, item.PartialLength, cancellationToken).ConfigureAwait(false);
    }

    // BINARY[section]<origin> SP (nstring / literal8). The origin of a partial fetch is named as RFC 3516 §4.2 and
    // RFC 9051 §7.5.2 describe it and Dovecot sends it, although RFC 9051's ABNF (msg-att-static) has none (erratum 7246).
    private static async ValueTask<bool> WriteBinaryAsync(PipeWriter output, MessageInfo info, MessageSummary? summary, ContentReader content, FetchItem item, CancellationToken cancellationToken)
    {
        output.Write("BINARY["u8);
        WriteSectionSpec(output, item.Section!);
        output.Write("]"u8);
        if (item.PartialStart is { } start)
        {
            output.Write("<"u8);
            output.WriteNumber(start);
            output.Write(">"u8);
        }
        output.Write(" "u8);
        var range = SectionLocator.Locate(summary, info.Size, item.Section!);
        using var decoder = CreateDecoder(range);
        if (decoder.IsIdentity && !range.Exists)
        {
            return await WriteRangeAsync(output, content, range, item.PartialStart, item.PartialLength, cancellationToken).ConfigureAwait(false);
        }
        // Decoded (or possibly holding NUL, which needs literal8): the size and the NUL are known only after a pass.
        // Decoded data goes as literal8 whatever it holds, as Dovecot sends it; undecoded data only when it has NUL.
        var literal8 = decoder.IsIdentity ? Literal8.IfNul : Literal8.Always;
        return await WriteTransformedAsync(output, content, range, decoder, item.PartialStart, item.PartialLength, literal8, cancellationToken).ConfigureAwait(false);
    }

    // BINARY.SIZE[section] SP number: the size of the decoded section (RFC 3516 §4.2).
    private static async ValueTask<bool> WriteBinarySizeAsync(PipeWriter output, MessageInfo info, MessageSummary? summary, ContentReader content, FetchItem item, CancellationToken cancellationToken)
    {
        output.Write("BINARY.SIZE["u8);
        WriteSectionSpec(output, item.Section!);
        output.Write("] "u8);
        var range = SectionLocator.Locate(summary, info.Size, item.Section!);
        using var decoder = CreateDecoder(range);
        long size = range.Length;
        if (!decoder.IsIdentity && range.Length > 0)
        {
            var counter = new SectionSink(null, 0, 0);
            await RunAsync(content, range, decoder, counter, output: null, cancellationToken).ConfigureAwait(false);
            size = counter.Produced;
        }
        output.WriteNumber(size);
        return true;
    }

    // The decoder of the part's encoding; the whole message and multiparts are identity (checked known before writing).
    private static TransferDecoder CreateDecoder(SectionRange range) =>
        (range.Part is { } part && !FetchDataWriter.IsMultipart(part) ? TransferDecoder.Create(part.TransferEncoding) : null)
        ?? TransferDecoder.Create(null)!;

    /// <summary>Writes the section-spec between the brackets: part numbers, then the text specifier and its field list.</summary>
    public static void WriteSectionSpec(IBufferWriter<byte> output, FetchSection section)
    {
        for (var i = 0; i < section.Parts.Length; i++)
        {
            if (i > 0)
            {
                output.Write("."u8);
            }
            output.WriteNumber((ulong)section.Parts[i]);
        }
        if (section.Text == SectionText.None)
        {
            return;
        }
        if (!section.Parts.IsEmpty)
        {
            output.Write("."u8);
        }
        output.Write(section.Text switch
        {
            SectionText.Header => "HEADER"u8,
            SectionText.HeaderFields => "HEADER.FIELDS ("u8,
            SectionText.HeaderFieldsNot => "HEADER.FIELDS.NOT ("u8,
            SectionText.Text => "TEXT"u8,
            _ => "MIME"u8,
        });
        if (section.Text is SectionText.HeaderFields or SectionText.HeaderFieldsNot)
        {
            for (var i = 0; i < section.Fields.Length; i++)
            {
                if (i > 0)
                {
                    output.Write(" "u8);
                }
                WriteAString(output, section.Fields[i]);
            }
            output.Write(")"u8);
        }
    }

    // An astring as the client may have sent it: an atom when it is one, a string otherwise.
    private static void WriteAString(IBufferWriter<byte> output, string value)
    {
        if (value.Length > 0 && value.Length <= 256 && System.Text.Ascii.IsValid(value))
        {
            Span<byte> bytes = stackalloc byte[value.Length];
            System.Text.Ascii.FromUtf16(value, bytes, out _);
            if (ReplyWriter.IsAtom(bytes))
            {
                output.Write(bytes);
                return;
            }
        }
        FetchDataWriter.WriteString(output, value);
    }

    // The window <start.length> of a section of `total` octets: where it starts in the section, and how many octets.
    private static (long Skip, long Take) Window(long total, long? start, long? length)
    {
        if (start is not { } from)
        {
            return (0, total);
        }
        var skip = Math.Min(from, total);
        return (skip, Math.Min(length ?? long.MaxValue, total - skip));
    }

    // A range of the content as it is: a literal of its octets, copied in chunks.
    private static async ValueTask<bool> WriteRangeAsync(PipeWriter output, ContentReader content, SectionRange range, long? start, long? length, CancellationToken cancellationToken)
    {
        // An empty section is the literal {0} too, not "": as Dovecot sends it, and what clients that expect a literal
        // for BODY[] (python's imaplib gives a literal and a quoted string different shapes) read without surprise.
        var (skip, take) = Window(range.Length, start, length);
        output.WriteLiteralHeader(take);
        if (take == 0)
        {
            return true;
        }
        await content.SeekAsync(range.Start + skip, cancellationToken).ConfigureAwait(false);
        long sinceFlush = 0;
        while (take > 0)
        {
            // Read as much as is flushed at once: a large body then costs a file read per socket write, not four.
            var want = (int)Math.Min(take, FlushThreshold);
            var memory = output.GetMemory(want);
            var read = await content.ReadAsync(memory[..Math.Min(want, memory.Length)], cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                throw ContentReader.ContentTooShort();
            }
            output.Advance(read);
            take -= read;
            sinceFlush += read;
            if (!await FlushIfFullAsync(output, ref sinceFlush, cancellationToken).ConfigureAwait(false))
            {
                return false;
            }
        }
        return true;
    }

    // A transformed range: a first pass counts the octets (and looks for NUL), the second writes the window.
    private static async ValueTask<bool> WriteTransformedAsync(PipeWriter output, ContentReader content, SectionRange range, ISectionTransform transform, long? start, long? length, Literal8 literal8, CancellationToken cancellationToken)
    {
        var counter = new SectionSink(null, 0, 0);
        if (range.Exists)
        {
            await RunAsync(content, range, transform, counter, null, cancellationToken).ConfigureAwait(false);
        }
        var (skip, take) = Window(counter.Produced, start, length);
        if (literal8 == Literal8.Always || (literal8 == Literal8.IfNul && counter.SawNul))
        {
            output.Write("~"u8); // RFC 3516 §4.2: data with NUL must go as literal8
        }
        output.WriteLiteralHeader(take);
        if (take == 0)
        {
            return true;
        }
        var sink = new SectionSink(output, skip, take);
        if (!await RunAsync(content, range, transform, sink, output, cancellationToken).ConfigureAwait(false))
        {
            return false;
        }
        if (sink.Written != take)
        {
            throw ContentReader.ContentTooShort(); // the content changed between the passes
        }
        return true;
    }

    // Feeds the range through the transform into the sink, chunk by chunk; flushes the output as it fills.
    private static async ValueTask<bool> RunAsync(ContentReader content, SectionRange range, ISectionTransform transform, SectionSink sink, PipeWriter? output, CancellationToken cancellationToken)
    {
        transform.Reset();
        await content.SeekAsync(range.Start, cancellationToken).ConfigureAwait(false);
        var buffer = ArrayPool<byte>.Shared.Rent(ContentReader.ChunkSize);
        try
        {
            var remaining = range.Length;
            long sinceFlush = 0;
            while (remaining > 0)
            {
                var read = await content.ReadAsync(buffer.AsMemory(0, (int)Math.Min(remaining, ContentReader.ChunkSize)), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    throw ContentReader.ContentTooShort();
                }
                remaining -= read;
                transform.Process(buffer.AsSpan(0, read), sink);
                sinceFlush += read;
                if (output is not null && !await FlushIfFullAsync(output, ref sinceFlush, cancellationToken).ConfigureAwait(false))
                {
                    return false;
                }
                if (output is not null && sink.Produced >= sink.Skip + sink.Take)
                {
                    break; // the window is written; the rest of the section is not needed
                }
            }
            if (remaining == 0)
            {
                transform.Finish(sink);
            }
            return true;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    // Flushes when the output holds more than FlushThreshold unflushed octets; false when its reader is gone.
    private static ValueTask<bool> FlushIfFullAsync(PipeWriter output, CancellationToken cancellationToken)
    {
        long none = 0;
        return FlushIfFullAsync(output, ref none, cancellationToken);
    }

    // The same, also when `sinceFlush` octets were copied since the last flush: a Pipe whose reader completed counts no
    // unflushed octets (its Advance does nothing), and only a flush tells that the connection is gone.
    private static ValueTask<bool> FlushIfFullAsync(PipeWriter output, ref long sinceFlush, CancellationToken cancellationToken)
    {
        if (sinceFlush < FlushThreshold && output.CanGetUnflushedBytes && output.UnflushedBytes < FlushThreshold)
        {
            return ValueTask.FromResult(true);
        }
        sinceFlush = 0;
        return FlushAsync(output, cancellationToken);

        static async ValueTask<bool> FlushAsync(PipeWriter output, CancellationToken cancellationToken)
        {
            var result = await output.FlushAsync(cancellationToken).ConfigureAwait(false);
            return !result.IsCompleted;
        }
    }
}
