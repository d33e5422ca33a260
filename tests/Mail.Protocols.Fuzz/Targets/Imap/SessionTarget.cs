using System.Net;
using System.Text;
using Mail.Protocols.Connections;
using Mail.Protocols.Imap;
using Mail.Protocols.InMemory;
using Microsoft.Extensions.Time.Testing;

namespace Mail.Protocols.Fuzz.Targets.Imap;

/// <summary>
/// A whole IMAP session fed the input as everything the client sends: the command reader that assembles lines and
/// literals ({n}, {n+}, ~{n}) under its limits, then every command against a mailbox of three messages, pipelined.
/// Time is a fake clock that never moves. Properties: the session ends without an exception; it greets with
/// "* OK"; every response line (literals skipped by their announced length) starts with "*", "+" or a tag followed by
/// OK, NO or BAD, and holds no CR, LF or NUL (no client octet can inject a response); a login succeeds only when the
/// client sent the password (as itself or in base64); without a login the store is unchanged; the messages' content
/// never changes (IMAP changes flags, not content) and nothing is added but by APPEND within its limit.
/// </summary>
internal sealed class SessionTarget : IFuzzTarget
{
    private const string Login = "alice@example.test";
    private const long AppendLimit = 4096;
    private static readonly byte[] s_secret = "alice-secret"u8.ToArray();
    private static readonly DateTimeOffset s_start = new(2026, 12, 6, 12, 0, 0, TimeSpan.Zero);
    private static readonly byte[][] s_messages =
    [
        "From: Bob <bob@example.org>\r\nTo: alice@example.test\r\nSubject: one\r\nDate: Sun, 6 Dec 2026 10:00:00 +0000\r\n\r\nshort body\r\n"u8.ToArray(),
        "Subject: two\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\npart one\r\n--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nAAECAw==\r\n--b--\r\n"u8.ToArray(),
        "Subject: =?UTF-8?B?w6l0w6k=?=\r\n\r\nno final line end"u8.ToArray(),
    ];

    public string Name => "ImapSession";

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

        var options = new ImapServerOptions
        {
            ServerName = "imap.example.test",
            AllowPlaintextAuth = true,
            FailedAuthDelay = TimeSpan.Zero,
            MaxAuthFailures = 1000,
            MaxErrors = 1000,
            AppendLimit = AppendLimit,
        };
        var pipe = new SessionPipe(input);
        var server = new ImapServer(options, new ImapServices(store, users), [], time);
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

        var loggedIn = CheckResponses(pipe.Replies());
        Fuzz.Check(!loggedIn || Secrets.Seen(input, s_secret), "logged in without the password");
        CheckStore(store, loggedIn);
    }

    private static void CheckStore(InMemoryMailboxStore store, bool loggedIn)
    {
        var folders = store.ListFoldersAsync(Login).AsTask().GetAwaiter().GetResult();
        var inbox = store.ListMessagesAsync(Login, "INBOX").AsTask().GetAwaiter().GetResult();
        if (!loggedIn)
        {
            Fuzz.Equal(1, folders.Count, "folders after a session without a login");
            Fuzz.Equal(s_messages.Length, inbox.Count, "messages after a session without a login");
        }

        foreach (var folder in folders)
        {
            foreach (var message in store.ListMessagesAsync(Login, folder.Name).AsTask().GetAwaiter().GetResult())
            {
                using var content = store.OpenContentAsync(Login, folder.Name, message.Uid).AsTask().GetAwaiter().GetResult();
                using var copy = new MemoryStream();
                content.CopyTo(copy);
                var octets = copy.ToArray();
                Fuzz.Check(octets.Length <= AppendLimit || s_messages.Any(m => m.AsSpan().SequenceEqual(octets)),
                    $"a message of {octets.Length} octets in {folder.Name}, APPEND's limit is {AppendLimit}");
                if (folder.Name == "INBOX" && message.Uid <= s_messages.Length)
                {
                    Fuzz.BytesEqual(s_messages[message.Uid - 1], octets, $"INBOX message {message.Uid} after the session");
                }
            }
        }
    }

    // Returns whether a LOGIN or AUTHENTICATE succeeded (a tagged "OK [CAPABILITY ...] Logged in").
    private static bool CheckResponses(byte[] output)
    {
        var rest = output.AsSpan();
        Fuzz.Check(rest.StartsWith("* OK"u8), "no * OK greeting");
        var loggedIn = false;
        while (!rest.IsEmpty)
        {
            // One response: lines joined by literals ("{n}" or "~{n}" at a line's end, then n octets).
            var first = true;
            var response = new StringBuilder();
            while (true)
            {
                var end = rest.IndexOf("\r\n"u8);
                Fuzz.Check(end >= 0, $"a response without CRLF: \"{Fuzz.Escape(rest)}\"");
                var line = rest[..end];
                rest = rest[(end + 2)..];
                Fuzz.Check(line.IndexOfAny((byte)'\r', (byte)'\n', (byte)0) < 0, $"CR, LF or NUL inside a response line: \"{Fuzz.Escape(line)}\"");
                if (first)
                {
                    CheckStart(line);
                    first = false;
                }

                response.Append(Encoding.Latin1.GetString(line));
                var literal = LiteralLength(line);
                if (literal < 0)
                {
                    break;
                }

                Fuzz.Check(literal <= rest.Length, $"a literal of {literal} octets with {rest.Length} left");
                rest = rest[(int)literal..];
            }

            var text = response.ToString();
            loggedIn |= !text.StartsWith('*') && !text.StartsWith('+') && text.Contains(" OK [CAPABILITY ", StringComparison.Ordinal)
                && text.EndsWith("] Logged in", StringComparison.Ordinal);
        }

        return loggedIn;
    }

    private static void CheckStart(ReadOnlySpan<byte> line)
    {
        if (line.StartsWith("* "u8) || line.SequenceEqual("+"u8) || line.StartsWith("+ "u8))
        {
            return;
        }

        var space = line.IndexOf((byte)' ');
        Fuzz.Check(space > 0, $"a response that is no tagged status: \"{Fuzz.Escape(line)}\"");
        var status = line[(space + 1)..];
        Fuzz.Check(status.StartsWith("OK"u8) || status.StartsWith("NO"u8) || status.StartsWith("BAD"u8), $"a tagged response that is not OK, NO or BAD: \"{Fuzz.Escape(line)}\"");
    }

    // The length of the literal announced at the end of a line ("{12}" or "~{12}"), or -1.
    private static long LiteralLength(ReadOnlySpan<byte> line)
    {
        if (line.IsEmpty || line[^1] != (byte)'}')
        {
            return -1;
        }

        var open = line.LastIndexOf((byte)'{');
        return open >= 0 && long.TryParse(line[(open + 1)..^1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var length) ? length : -1;
    }
}
