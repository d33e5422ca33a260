using System.Net;
using Mail.Protocols.Smtp;
using MimeKit;

namespace Mail.Protocols.Testing;

/// <summary>A message the test server accepted, with how it came: envelope, listener, TLS and login.</summary>
public sealed class ReceivedMessage
{
    internal ReceivedMessage(string queueId, string sender, IReadOnlyList<string> recipients, SmtpSessionInfo session, byte[] content, MimeMessage message)
    {
        QueueId = queueId;
        Sender = sender;
        Recipients = recipients;
        Role = session.Role;
        Port = (session.LocalEndPoint as IPEndPoint)?.Port ?? 0;
        IsSecure = session.IsSecure;
        AuthenticatedUser = session.AuthenticatedUser?.Login;
        ClientName = session.HeloName;
        Content = content;
        Message = message;
    }

    /// <summary>The id the server gave it in its <c>250</c> reply and Received header.</summary>
    public string QueueId { get; }

    /// <summary>The envelope sender (MAIL FROM); empty for the null sender of a bounce.</summary>
    public string Sender { get; }

    /// <summary>The envelope recipients (RCPT TO), in order: the addresses it was sent to, Bcc included.</summary>
    public IReadOnlyList<string> Recipients { get; }

    /// <summary>Whether it came in on an MX listener or a submission listener.</summary>
    public SmtpRole Role { get; }

    /// <summary>The server port it came in on (compare with <see cref="MailTestServer.SmtpPort"/> and the others).</summary>
    public int Port { get; }

    /// <summary>Whether the session was encrypted (STARTTLS or implicit TLS).</summary>
    public bool IsSecure { get; }

    /// <summary>The login the client authenticated as, or null.</summary>
    public string? AuthenticatedUser { get; }

    /// <summary>The name the client gave in EHLO or HELO.</summary>
    public string? ClientName { get; }

    /// <summary>The octets as stored, with the server's Received header first.</summary>
    public byte[] Content { get; }

    /// <summary>The message, parsed.</summary>
    public MimeMessage Message { get; }

    /// <summary>
    /// Whether <paramref name="address"/> is among the envelope recipients (compared without regard to case, an
    /// internationalised domain in either form).
    /// </summary>
    public bool IsFor(string address) => Recipients.Any(recipient => Addressing.DomainName.AddressComparer.Equals(recipient, address));

    /// <inheritdoc />
    public override string ToString() => $"{QueueId} from <{Sender}> to {string.Join(", ", Recipients.Select(r => $"<{r}>"))}: {Message.Subject}";
}
