using MimeKit;

namespace Mail.Protocols.Storage;

/// <summary>Computes a <see cref="MessageSummary"/> from message content with MimeKit's parser, in one pass over a seekable stream.</summary>
public static class MessageSummaryParser
{
    /// <summary>
    /// The deepest level of MIME parts summarised: the message's body is level 1, the parts of a multipart (or the
    /// body of an embedded message/rfc822) one level below it. A multipart or message/rfc822 part at this level is
    /// summarised as an opaque leaf: its media type and offsets, without <see cref="BodyPartSummary.Children"/>,
    /// <see cref="BodyPartSummary.Message"/> or <see cref="BodyPartSummary.MessageEnvelope"/>; what lies deeper is
    /// part of its body. Stores that serialise summaries size their limits from this constant.
    /// </summary>
    public const int MaxMimeDepth = 64;

    private static readonly ParserOptions s_options = CreateOptions();

    /// <summary>Parses <paramref name="content"/> from its current position. The stream must be seekable; it is not disposed.</summary>
    public static MessageSummary Parse(Stream content, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        var begins = new Dictionary<MimeEntity, long>(ReferenceEqualityComparer.Instance);
        var ends = new Dictionary<MimeEntity, MimeEntityEndEventArgs>(ReferenceEqualityComparer.Instance);
        // persistent: true keeps part contents as offsets into the stream instead of copying them.
        var parser = new MimeParser(s_options, content, persistent: true);
        parser.MimeEntityBegin += (_, e) => begins[e.Entity] = e.BeginOffset;
        parser.MimeEntityEnd += (_, e) => ends[e.Entity] = e;
        var message = parser.ParseMessage(cancellationToken);
        return new MessageSummary(BuildEnvelope(message), BuildPart(message.Body, 1, begins, ends));
    }

    private static ParserOptions CreateOptions()
    {
        var options = ParserOptions.Default.Clone();
        // MimeKit's own cut only has to come after ours (BuildPart stops at MaxMimeDepth), whichever way it counts.
        options.MaxMimeDepth = MaxMimeDepth + 2;
        return options;
    }

    private static BodyPartSummary BuildPart(MimeEntity? entity, int level, Dictionary<MimeEntity, long> begins, Dictionary<MimeEntity, MimeEntityEndEventArgs> ends)
    {
        if (entity is null)
        {
            return new BodyPartSummary { MediaType = "text", MediaSubtype = "plain", TransferEncoding = "7bit" };
        }
        var type = entity.ContentType;
        begins.TryGetValue(entity, out var begin);
        ends.TryGetValue(entity, out var end);
        var disposition = entity.ContentDisposition;
        var languages = entity.Headers[HeaderId.ContentLanguage];
        var part = new BodyPartSummary
        {
            MediaType = type.MediaType.ToLowerInvariant(),
            MediaSubtype = type.MediaSubtype.ToLowerInvariant(),
            Parameters = [.. type.Parameters.Select(p => new KeyValuePair<string, string>(p.Name, p.Value))],
            ContentId = entity.Headers[HeaderId.ContentId],
            Description = entity.Headers[HeaderId.ContentDescription],
            TransferEncoding = entity is Multipart ? null : (entity.Headers[HeaderId.ContentTransferEncoding]?.Trim() ?? "7bit"),
            Md5 = entity.Headers[HeaderId.ContentMd5]?.Trim(),
            Disposition = disposition?.Disposition,
            DispositionParameters = disposition is null ? [] : [.. disposition.Parameters.Select(p => new KeyValuePair<string, string>(p.Name, p.Value))],
            Languages = string.IsNullOrWhiteSpace(languages) ? [] : [.. languages.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)],
            Location = entity.Headers[HeaderId.ContentLocation]?.Trim(),
            HeaderOffset = begin,
            BodyOffset = end?.HeadersEndOffset ?? begin,
            EndOffset = end?.EndOffset ?? begin,
            Lines = end?.Lines ?? 0,
        };
        return entity switch
        {
            _ when level >= MaxMimeDepth => part,
            Multipart multipart => part with { Children = [.. multipart.Select(child => BuildPart(child, level + 1, begins, ends))] },
            MessagePart { Message: { } inner } => part with { MessageEnvelope = BuildEnvelope(inner), Message = BuildPart(inner.Body, level + 1, begins, ends) },
            _ => part,
        };
    }

    private static MessageEnvelope BuildEnvelope(MimeMessage message)
    {
        var from = Addresses(message.From);
        var sender = message.Headers.Contains(HeaderId.Sender) ? Addresses(message.Sender is null ? [] : new InternetAddressList([message.Sender])) : from;
        var replyTo = message.ReplyTo.Count > 0 ? Addresses(message.ReplyTo) : from;
        return new MessageEnvelope(
            message.Headers[HeaderId.Date]?.Trim(),
            message.Headers[HeaderId.Subject]?.Trim(),
            from,
            sender,
            replyTo,
            Addresses(message.To),
            Addresses(message.Cc),
            Addresses(message.Bcc),
            message.Headers[HeaderId.InReplyTo]?.Trim(),
            message.Headers[HeaderId.MessageId]?.Trim());
    }

    private static List<EnvelopeAddress> Addresses(InternetAddressList list)
    {
        var result = new List<EnvelopeAddress>(list.Count);
        foreach (var address in list)
        {
            Add(result, address);
        }
        return result;
    }

    private static void Add(List<EnvelopeAddress> result, InternetAddress address)
    {
        switch (address)
        {
            case MailboxAddress mailbox:
                var at = mailbox.Address.LastIndexOf('@');
                result.Add(new EnvelopeAddress(
                    string.IsNullOrEmpty(mailbox.Name) ? null : mailbox.Name,
                    null,
                    at < 0 ? mailbox.Address : mailbox.Address[..at],
                    at < 0 ? null : mailbox.Address[(at + 1)..]));
                break;
            case GroupAddress group:
                result.Add(new EnvelopeAddress(null, null, group.Name, null));
                foreach (var member in group.Members)
                {
                    Add(result, member);
                }
                result.Add(new EnvelopeAddress(null, null, null, null));
                break;
        }
    }
}
