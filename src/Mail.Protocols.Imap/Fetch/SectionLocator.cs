using Mail.Protocols.Storage;

namespace Mail.Protocols.Imap.Fetch;

/// <summary>Where a section lies in the stored content: a byte range, and whether its header lines are filtered.</summary>
/// <param name="Exists">False when the part numbers name no part (the section is then empty).</param>
/// <param name="Start">The offset of its first octet.</param>
/// <param name="End">The offset just past its last octet.</param>
/// <param name="Part">The part the numbers name (null for the message itself); BINARY decodes with its transfer encoding.</param>
internal readonly record struct SectionRange(bool Exists, long Start, long End, BodyPartSummary? Part)
{
    /// <summary>The octets of the range.</summary>
    public long Length => End - Start;

    /// <summary>A section that does not exist: empty.</summary>
    public static SectionRange Missing => new(false, 0, 0, null);
}

/// <summary>
/// Finds a section of a message (RFC 9051 §6.4.5) in its stored content from the offsets of its <see cref="MessageSummary"/>.
/// </summary>
internal static class SectionLocator
{
    /// <summary>
    /// Locates <paramref name="section"/> in a message of <paramref name="size"/> octets. Offsets of the summary are
    /// clamped to the content, so a summary that does not match its content cannot send the copy past its end.
    /// </summary>
    public static SectionRange Locate(MessageSummary? summary, long size, FetchSection section)
    {
        if (section.Parts.IsEmpty)
        {
            return section.Text switch
            {
                SectionText.None => Range(0, size, size, null),
                SectionText.Header or SectionText.HeaderFields or SectionText.HeaderFieldsNot =>
                    Range(0, Summary(summary).BodyOffset, size, null),
                SectionText.Text => Range(Summary(summary).BodyOffset, size, size, null),
                _ => SectionRange.Missing, // MIME needs a part number; the grammar refuses it before this.
            };
        }
        if (!TryFindPart(Summary(summary).Body, section.Parts.AsSpan(), out var part))
        {
            return SectionRange.Missing;
        }
        switch (section.Text)
        {
            case SectionText.None:
                return Range(part.BodyOffset, part.EndOffset, size, part);
            case SectionText.Mime:
                return Range(part.HeaderOffset, part.BodyOffset, size, part);
            default:
                // RFC 9051 §6.4.5: HEADER, HEADER.FIELDS[.NOT] and TEXT after part numbers need a MESSAGE/RFC822 (or
                // MESSAGE/GLOBAL) part; on any other part they name nothing.
                if (!FetchDataWriter.IsMessage(part) || part.MessageBodyOffset is not { } messageBody)
                {
                    return SectionRange.Missing;
                }
                return section.Text == SectionText.Text
                    ? Range(messageBody, part.EndOffset, size, part)
                    : Range(part.BodyOffset, messageBody, size, part);
        }
    }

    /// <summary>
    /// Follows part numbers from a message's body (RFC 9051 §6.4.5): a number picks a part of a multipart; part 1 of a
    /// message whose body is not multipart is that body; after a message/rfc822 part, numbers go on into the embedded
    /// message's body. The walk is as long as the numbers, each step one level down a summary of bounded depth.
    /// </summary>
    public static bool TryFindPart(BodyPartSummary body, ReadOnlySpan<uint> parts, out BodyPartSummary part)
    {
        part = body;
        var isMessageBody = true; // part is the body of a message (the top one or an embedded one) just entered
        foreach (var number in parts)
        {
            if (!isMessageBody && FetchDataWriter.IsMessage(part))
            {
                part = part.Message!;
                isMessageBody = true;
            }
            if (FetchDataWriter.IsMultipart(part))
            {
                if (number < 1 || number > part.Children.Count)
                {
                    return false;
                }
                part = part.Children[(int)number - 1];
                isMessageBody = false;
            }
            else if (isMessageBody && number == 1)
            {
                isMessageBody = false;
            }
            else
            {
                return false;
            }
        }
        return true;
    }

    private static MessageSummary Summary(MessageSummary? summary) =>
        summary ?? throw new ArgumentException("This section needs the message's summary (FetchRequest.Needs has Summary).", nameof(summary));

    private static SectionRange Range(long start, long end, long size, BodyPartSummary? part)
    {
        start = Math.Clamp(start, 0, size);
        end = Math.Clamp(end, start, size);
        return new SectionRange(true, start, end, part);
    }
}
