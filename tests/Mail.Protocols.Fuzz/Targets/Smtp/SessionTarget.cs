using System.Net;
using System.Text;
using Mail.Protocols.Connections;
using Mail.Protocols.InMemory;
using Mail.Protocols.Policy;
using Mail.Protocols.Smtp;
using Microsoft.Extensions.Time.Testing;

namespace Mail.Protocols.Fuzz.Targets.Smtp;

/// <summary>
/// A whole SMTP session, MX and submission, fed the input as everything the client sends: EHLO/HELO names, MAIL and
/// RCPT parameters, AUTH lines, DATA and BDAT framing, pipelined. Time is a fake clock that never moves, so no timer
/// fires. Properties: the session ends without an exception; it greets with 220; every reply line is a code 2xx-5xx
/// and a space or "-", printable ASCII only (no client octet can inject a line) and at most 512 octets with its CRLF
/// (RFC 5321 §4.5.3.1.5); nothing is stored or queued without a "250 ... Message accepted" reply; nothing is queued
/// for relay without a successful AUTH (no open relay); every stored or queued message starts with our Received
/// header, whose lines are joined by CRLF TAB and carry no control octet (no header injection from HELO or an
/// address), and holds at most the size limit after it.
/// </summary>
internal sealed class SessionTarget : IFuzzTarget
{
    private const long MaxMessageSize = 4096;
    private static readonly DateTimeOffset s_start = new(2026, 12, 6, 12, 0, 0, TimeSpan.Zero);

    public string Name => "SmtpSession";

    public void Run(ReadOnlySpan<byte> input)
    {
        foreach (var role in (ReadOnlySpan<SmtpRole>)[SmtpRole.Mx, SmtpRole.Submission])
        {
            RunSession(input, role);
        }
    }

    private static void RunSession(ReadOnlySpan<byte> input, SmtpRole role)
    {
        var time = new FakeTimeProvider(s_start);
        var store = new InMemoryMailboxStore(time);
        var queue = new InMemoryMessageQueue(time);
        var users = new InMemoryUserDirectory();
        users.AddUser("alice@example.test", "alice-secret");
        users.AddUser("bob@example.test", "bob-secret");
        var policyOptions = new RecipientPolicyOptions { PostmasterLogin = "alice@example.test" };
        policyOptions.LocalDomains.Add("example.test");
        var options = new SmtpServerOptions
        {
            ServerName = "mx.example.test",
            MaxErrors = 1000,
            MaxMessageSize = MaxMessageSize,
            AllowPlaintextAuth = true,
            FailedAuthDelay = TimeSpan.Zero,
            MaxAuthFailures = 1000,
        };
        var pipe = new SessionPipe(input);
        var server = new SmtpServer(options, new SmtpServices(store, queue, users, new DefaultRecipientPolicy(policyOptions, users)), [], time);
        using var heartbeat = new Heartbeat(time);
        var connection = new MailConnection(pipe, new IPEndPoint(IPAddress.Parse("192.0.2.10"), 40000), null, heartbeat, isSecure: false);
        try
        {
            server.RunSessionAsync(connection, role).GetAwaiter().GetResult();
        }
        finally
        {
            connection.DisposeAsync().AsTask().GetAwaiter().GetResult();
            server.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }

        var replies = pipe.Replies();
        var (accepted, authenticated) = CheckReplies(replies, role);
        var messages = new List<byte[]>();
        foreach (var login in (ReadOnlySpan<string>)["alice@example.test", "bob@example.test"])
        {
            foreach (var message in store.ListMessagesAsync(login, "INBOX").AsTask().GetAwaiter().GetResult())
            {
                using var content = store.OpenContentAsync(login, "INBOX", message.Uid).AsTask().GetAwaiter().GetResult();
                using var copy = new MemoryStream();
                content.CopyTo(copy);
                messages.Add(copy.ToArray());
            }
        }

        var queued = queue.CountAsync().AsTask().GetAwaiter().GetResult();
        Fuzz.Check(accepted > 0 || (messages.Count == 0 && queued == 0), $"{role}: {messages.Count} stored and {queued} queued without a 250 for a message");
        Fuzz.Check(authenticated || queued == 0, $"{role}: {queued} queued for relay without authentication");
        foreach (var message in messages)
        {
            CheckReceived(message);
        }
    }

    private static (int Accepted, bool Authenticated) CheckReplies(byte[] replies, SmtpRole role)
    {
        Fuzz.Check(replies.AsSpan().StartsWith("220 "u8) || replies.AsSpan().StartsWith("220-"u8), $"{role}: no 220 greeting");
        Fuzz.Check(replies.AsSpan().EndsWith("\r\n"u8), $"{role}: the replies do not end with CRLF");
        var accepted = 0;
        var authenticated = false;
        var rest = replies.AsSpan();
        while (!rest.IsEmpty)
        {
            var end = rest.IndexOf("\r\n"u8);
            var line = rest[..end];
            rest = rest[(end + 2)..];
            Fuzz.Check(line.Length + 2 <= 512, $"{role}: a reply line of {line.Length + 2} octets");
            Fuzz.Check(line.Length >= 4 && line[0] is >= (byte)'2' and <= (byte)'5' && char.IsAsciiDigit((char)line[1]) && char.IsAsciiDigit((char)line[2])
                && line[3] is (byte)' ' or (byte)'-', $"{role}: a malformed reply line \"{Fuzz.Escape(line)}\"");
            Fuzz.Check(line.IndexOfAnyExceptInRange((byte)0x20, (byte)0x7E) < 0, $"{role}: a reply line with a control or 8-bit octet \"{Fuzz.Escape(line)}\"");
            if (line.StartsWith("250 2.0.0 "u8) && line.EndsWith(" Message accepted for delivery"u8))
            {
                accepted++;
            }

            authenticated |= line.StartsWith("235 "u8);
        }

        return (accepted, authenticated);
    }

    // Our Received header comes first: "Received: from ..." and TAB-indented continuation lines, CRLF only, no control
    // octet; then the client's message, at most the size limit.
    private static void CheckReceived(byte[] message)
    {
        var text = message.AsSpan();
        Fuzz.Check(text.StartsWith("Received: from "u8), $"a stored message starts \"{Fuzz.Escape(text[..Math.Min(40, text.Length)])}\"");
        var end = 0;
        while (true)
        {
            var lineEnd = text[end..].IndexOf("\r\n"u8);
            Fuzz.Check(lineEnd >= 0, "the Received header does not end");
            var line = text.Slice(end, lineEnd);
            Fuzz.Check(line.IndexOfAnyInRange((byte)0, (byte)0x08) < 0 && line.IndexOfAnyInRange((byte)0x0A, (byte)0x1F) < 0 && !line.Contains((byte)0x7F),
                $"a control octet in the Received header: \"{Fuzz.Escape(line)}\"");
            end += lineEnd + 2;
            if (end >= text.Length || text[end] != (byte)'\t')
            {
                break;
            }
        }

        Fuzz.Check(text.Length - end <= MaxMessageSize, $"a stored message of {text.Length - end} octets, the limit is {MaxMessageSize}");
    }
}
