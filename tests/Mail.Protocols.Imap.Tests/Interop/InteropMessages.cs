using System.Text;
using Mail.Protocols.Storage;
using MimeKit;

namespace Mail.Protocols.Imap.Tests.Interop;

/// <summary>Messages for the interop tests, built with MimeKit so that what the server reports can be checked against what was sent.</summary>
internal static class InteropMessages
{
    /// <summary>A subject with non-ASCII letters, which MimeKit sends as RFC 2047 encoded words.</summary>
    public const string EncodedSubject = "Grüße aus Köln – Quartalsbericht ✓";

    /// <summary>The octets of the PDF-like attachment (every byte value, so base64 must carry them exactly).</summary>
    public static readonly byte[] AttachmentBytes = [.. Enumerable.Range(0, 3000).Select(i => (byte)((i * 7) % 256))];

    /// <summary>
    /// multipart/mixed: 1 multipart/alternative (1.1 text/plain UTF-8 quoted-printable, 1.2 text/html), 2 an
    /// application/pdf attachment in base64 with a file name, 3 a message/rfc822 attachment (itself text/plain).
    /// </summary>
    public static MimeMessage Rich(string to, string messageId = "rich.1@example.org")
    {
        var message = new MimeMessage();
        message.From.Add(new MailboxAddress("Jörg Sender", "joerg@example.org"));
        message.To.Add(MailboxAddress.Parse(to));
        message.Cc.Add(new MailboxAddress("Carol", "carol@example.net"));
        message.ReplyTo.Add(MailboxAddress.Parse("replies@example.org"));
        message.Subject = EncodedSubject;
        message.MessageId = messageId;
        message.InReplyTo = "earlier.1@example.org";
        message.Date = new DateTimeOffset(2026, 11, 30, 9, 15, 0, TimeSpan.FromHours(1));

        var plain = new TextPart("plain") { ContentTransferEncoding = ContentEncoding.QuotedPrintable };
        plain.SetText("utf-8", "Hallo Alice,\r\nanbei der Bericht über das Quartal.\r\nGrüße, Jörg\r\n");
        var html = new TextPart("html") { Text = "<p>Hallo Alice,</p><p>anbei der Bericht.</p>\r\n" };
        html.ContentType.Charset = "utf-8";
        var alternative = new MultipartAlternative { plain, html };

        var attachment = new MimePart("application", "pdf")
        {
            Content = new MimeContent(new MemoryStream(AttachmentBytes)),
            ContentDisposition = new ContentDisposition(ContentDisposition.Attachment) { FileName = "bericht-q4.pdf" },
            ContentTransferEncoding = ContentEncoding.Base64,
        };

        var forwarded = new MimeMessage();
        forwarded.From.Add(MailboxAddress.Parse("dave@example.com"));
        forwarded.To.Add(MailboxAddress.Parse("joerg@example.org"));
        forwarded.Subject = "Original note";
        forwarded.MessageId = "forwarded.1@example.com";
        forwarded.Date = new DateTimeOffset(2026, 11, 1, 8, 0, 0, TimeSpan.Zero);
        forwarded.Body = new TextPart("plain") { Text = "The forwarded text.\r\nLine two.\r\n" };
        var rfc822 = new MessagePart { Message = forwarded, ContentDisposition = new ContentDisposition(ContentDisposition.Attachment) };

        message.Body = new Multipart("mixed") { alternative, attachment, rfc822 };
        return message;
    }

    /// <summary>Sends a message over SMTP to the MX port for <paramref name="recipient"/> alone (not to its Cc, which may be remote).</summary>
    public static async Task SendAsync(System.Net.IPEndPoint smtp, MimeMessage message, string recipient, CancellationToken cancellationToken = default)
    {
        using var client = new MailKit.Net.Smtp.SmtpClient();
        client.LocalDomain = "client.example.org";
        client.Timeout = 60_000;
        await client.ConnectAsync(smtp.Address.ToString(), smtp.Port, MailKit.Security.SecureSocketOptions.None, cancellationToken);
        await client.SendAsync(message, MailboxAddress.Parse("joerg@example.org"), [MailboxAddress.Parse(recipient)], cancellationToken);
        await client.DisconnectAsync(true, cancellationToken);
    }

    /// <summary>A small text/plain message.</summary>
    public static MimeMessage Plain(string to, string subject, string body = "Hello\r\n", string from = "sender@example.org", DateTimeOffset? date = null)
    {
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse(from));
        message.To.Add(MailboxAddress.Parse(to));
        message.Subject = subject;
        message.Date = date ?? new DateTimeOffset(2026, 11, 29, 12, 0, 0, TimeSpan.Zero);
        message.Body = new TextPart("plain") { Text = body };
        return message;
    }

    /// <summary>The message's octets as MailKit sends them (CRLF line ends).</summary>
    public static byte[] Bytes(MimeMessage message)
    {
        using var stream = new MemoryStream();
        message.WriteTo(FormatOptions.Default.Clone().WithNewLineFormat(NewLineFormat.Dos), stream);
        return stream.ToArray();
    }

    private static FormatOptions WithNewLineFormat(this FormatOptions options, NewLineFormat format)
    {
        options.NewLineFormat = format;
        return options;
    }

    /// <summary>The stored octets of one message.</summary>
    public static async Task<byte[]> StoredAsync(IMailboxStore store, string user, string folder, uint uid, CancellationToken cancellationToken = default)
    {
        await using var content = await store.OpenContentAsync(user, folder, uid, cancellationToken);
        using var copy = new MemoryStream();
        await content.CopyToAsync(copy, cancellationToken);
        return copy.ToArray();
    }

    /// <summary>Reads a stream to its end.</summary>
    public static async Task<byte[]> ReadAllAsync(Stream stream, CancellationToken cancellationToken = default)
    {
        await using (stream)
        {
            using var copy = new MemoryStream();
            await stream.CopyToAsync(copy, cancellationToken);
            return copy.ToArray();
        }
    }

    /// <summary>Text for failure messages.</summary>
    public static string Text(byte[] bytes) => Encoding.UTF8.GetString(bytes);
}
