using MimeKit;

namespace Mail.Protocols.TestSupport;

/// <summary>What MailKit's SmtpClient puts on the wire for a message, for tests that compare it with what a server stored or served.</summary>
public static class MailKitWire
{
    /// <summary>The format MailKit sends in (CRLF line ends, a final newline ensured).</summary>
    public static FormatOptions SmtpFormat(bool international = false)
    {
        var format = FormatOptions.Default.Clone();
        format.NewLineFormat = NewLineFormat.Dos;
        format.EnsureNewLine = true;
        format.International = international;
        return format;
    }

    /// <summary>The octets of <paramref name="message"/> as MailKit sends them (before dot-stuffing).</summary>
    public static byte[] Bytes(MimeMessage message, bool international = false)
    {
        ArgumentNullException.ThrowIfNull(message);
        using var stream = new MemoryStream();
        message.WriteTo(SmtpFormat(international), stream);
        return stream.ToArray();
    }
}
