using System.Net;
using System.Text;
using Mail.Protocols.Connections;
using Mail.Protocols.InMemory;
using Mail.Protocols.Pop3;
using Microsoft.Extensions.Time.Testing;

namespace Mail.Protocols.Fuzz.Targets.Pop3;

/// <summary>
/// A whole POP3 session (RFC 1939, RFC 2449, RFC 5034) fed the input as everything the client sends, against a
/// maildrop of three messages: the command parser (keywords, message numbers, TOP's line count, UIDL), USER/PASS,
/// APOP and AUTH exchanges, pipelined. Time is a fake clock that never moves. The messages' lines never start with "+"
/// or "-", so every such line of the output is a status line. Properties: the session ends without an exception; it
/// greets with +OK; every status line is "+OK", "-ERR" or a SASL "+ " challenge, printable ASCII and at most 512
/// octets with its CRLF (RFC 2449 §4); the output ends with CRLF; a login succeeds only when the client sent the
/// password (as itself or in base64: no login without the secret); messages are deleted only after a login and a QUIT,
/// and the ones left are unchanged.
/// </summary>
internal sealed class SessionTarget : IFuzzTarget
{
    private const string Login = "alice@example.test";
    private static readonly byte[] s_secret = "alice-secret"u8.ToArray();
    private static readonly DateTimeOffset s_start = new(2026, 12, 6, 12, 0, 0, TimeSpan.Zero);
    private static readonly byte[][] s_messages =
    [
        "Subject: one\r\n\r\nshort\r\n"u8.ToArray(),
        "From: a@example.org\r\nSubject: two\r\n\r\n.leading dot\r\n..two dots\r\n.\r\nlast\r\n"u8.ToArray(),
        "Subject: three\r\n\r\nno final line end"u8.ToArray(),
    ];

    public string Name => "Pop3Session";

    public void Run(ReadOnlySpan<byte> input)
    {
        var time = new FakeTimeProvider(s_start);
        var store = new InMemoryMailboxStore(time);
        var users = new InMemoryUserDirectory();
        users.AddUser(Login, Encoding.ASCII.GetString(s_secret));
        foreach (var message in s_messages)
        {
            store.AppendAsync(Login, "INBOX", new MemoryStream(message)).AsTask().GetAwaiter().GetResult();
        }

        var options = new Pop3ServerOptions
        {
            ServerName = "pop.example.test",
            AllowPlaintextAuth = true,
            EnableApop = true,
            FailedAuthDelay = TimeSpan.Zero,
            MaxAuthFailures = 1000,
            MaxErrors = 1000,
        };
        var pipe = new SessionPipe(input);
        var server = new Pop3Server(options, new Pop3Services(store, users), [], time);
        using var heartbeat = new Heartbeat(time);
        var connection = new MailConnection(pipe, new IPEndPoint(IPAddress.Parse("192.0.2.10"), 40000), null, heartbeat, isSecure: false);
        try
        {
            server.RunSessionAsync(connection).GetAwaiter().GetResult();
        }
        finally
        {
            connection.DisposeAsync().AsTask().GetAwaiter().GetResult();
            server.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }

        var loggedIn = CheckReplies(pipe.Replies());
        Fuzz.Check(!loggedIn || Secrets.Seen(input, s_secret), "logged in without the password");

        var left = store.ListMessagesAsync(Login, "INBOX").AsTask().GetAwaiter().GetResult();
        var quit = Encoding.Latin1.GetString(input).Contains("QUIT", StringComparison.OrdinalIgnoreCase);
        Fuzz.Check(left.Count == s_messages.Length || (loggedIn && quit), $"{s_messages.Length - left.Count} deleted without a login and a QUIT");
        foreach (var message in left)
        {
            using var content = store.OpenContentAsync(Login, "INBOX", message.Uid).AsTask().GetAwaiter().GetResult();
            using var copy = new MemoryStream();
            content.CopyTo(copy);
            Fuzz.BytesEqual(s_messages[message.Uid - 1], copy.ToArray(), $"message {message.Uid} after the session");
        }
    }

    // Returns whether a login succeeded ("+OK <login> has N message(s)").
    private static bool CheckReplies(byte[] replies)
    {
        Fuzz.Check(replies.AsSpan().StartsWith("+OK pop.example.test POP3 ready"u8), "no +OK greeting");
        Fuzz.Check(replies.AsSpan().EndsWith("\r\n"u8), "the output does not end with CRLF");
        var loggedIn = false;
        foreach (var range in replies.AsSpan().Split("\r\n"u8))
        {
            var line = replies.AsSpan()[range];
            if (line.IsEmpty || line[0] is not ((byte)'+' or (byte)'-'))
            {
                continue;
            }

            Fuzz.Check(line.SequenceEqual("+OK"u8) || line.SequenceEqual("-ERR"u8) || line.StartsWith("+OK "u8) || line.StartsWith("-ERR "u8) || line.StartsWith("+ "u8),
                $"a status line \"{Fuzz.Escape(line)}\"");
            Fuzz.Check(line.Length + 2 <= 512, $"a status line of {line.Length + 2} octets");
            Fuzz.Check(line.IndexOfAnyExceptInRange((byte)0x20, (byte)0x7E) < 0, $"a status line with a control or 8-bit octet \"{Fuzz.Escape(line)}\"");
            loggedIn |= line.StartsWith("+OK alice@example.test has "u8);
        }

        return loggedIn;
    }
}
