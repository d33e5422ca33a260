using System.Text;
using Mail.Protocols.Smtp.Tests.Interop;

namespace Mail.Protocols.Smtp.Tests.Abuse;

/// <summary>
/// SMTP smuggling (the 2023 class of attacks): a message whose data holds an end-of-data look-alike followed by a second
/// transaction. A server that ended DATA at the look-alike would run that transaction. Over a real socket, on port 25
/// and on submission, with DATA and with BDAT, under both bare-line-ending policies: the data never ends early, so the
/// second transaction is never run; the message is refused or stored once, whole.
/// </summary>
public sealed class SmugglingTests
{
    private const string Alice = "alice@example.test";
    private const string Bob = "bob@example.test";

    /// <summary>Each look-alike of "CRLF . CRLF" an attacker may try, with whether it holds a bare CR or LF.</summary>
    public static TheoryData<string, bool> LookAlikes => new()
    {
        { "\n.\n", true },
        { "\r.\r", true },
        { "\n.\r\n", true },
        { "\r\n.\n", true },
        { "\r.\r\n", true },
        { "\r\n.\r", true },
        { "\r\n.\r\r\n", true },
        { "\r", true },        // a bare CR alone
        { "\n", true },        // a bare LF alone
        { "\r\n.\0\r\n", false }, // NUL after the dot
        { "\r\n\0.\r\n", false }, // NUL before the dot
    };

    private const string Smuggled = "MAIL FROM:<alice@example.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\nSubject: smuggled\r\n\r\nevil\r\n";

    private static string Payload(string lookAlike) => "Subject: honest\r\n\r\nhello" + lookAlike + Smuggled;

    private static async Task<InteropHost> HostAsync(BareLineEndingPolicy policy) =>
        await InteropHost.StartAsync(o =>
        {
            o.AllowPlaintextAuth = true;
            o.Smtp.BareLineEndings = policy;
        });

    // Greeted, EHLO said, and on submission logged in as alice; then MAIL FROM and RCPT TO:<alice>.
    private static async Task<RawSmtpConnection> EnvelopeAsync(InteropHost host, SmtpRole role, string mailParameters, CancellationToken ct)
    {
        var c = await RawSmtpConnection.ConnectAsync(role == SmtpRole.Mx ? host.Mx : host.Submission, ct);
        Assert.StartsWith("220 ", await c.ReadSingleLineReplyAsync(ct), StringComparison.Ordinal);
        await c.WriteAsync("EHLO client.example.org\r\n", ct);
        Assert.StartsWith("250 ", (await c.ReadReplyAsync(ct))[^1], StringComparison.Ordinal);
        if (role == SmtpRole.Submission)
        {
            await c.WriteAsync("AUTH PLAIN " + Convert.ToBase64String("\0alice@example.test\0alice"u8) + "\r\n", ct);
            Assert.Equal("235 2.7.0 Authentication successful", await c.ReadSingleLineReplyAsync(ct));
        }
        var sender = role == SmtpRole.Mx ? "someone@example.org" : Alice;
        await c.WriteAsync($"MAIL FROM:<{sender}>{mailParameters}\r\nRCPT TO:<{Alice}>\r\n", ct);
        Assert.Equal("250 2.1.0 Sender ok", await c.ReadSingleLineReplyAsync(ct));
        Assert.Equal("250 2.1.5 Recipient ok", await c.ReadSingleLineReplyAsync(ct));
        return c;
    }

    // The verdict on the message, then NOOP's own reply: nothing in between, so no smuggled command was answered.
    private static async Task<string> VerdictThenNoopAsync(RawSmtpConnection c, CancellationToken ct)
    {
        var verdict = await c.ReadSingleLineReplyAsync(ct);
        Assert.Equal("250 2.0.0 OK", await c.ReadSingleLineReplyAsync(ct));
        return verdict;
    }

    private static async Task AssertOutcomeAsync(InteropHost host, string verdict, bool refused, Action<byte[]>? checkBody = null)
    {
        // Never a message for bob: that is the smuggled transaction.
        Assert.Empty(await host.InboxAsync(Bob));
        Assert.Equal(0, await host.Host.Queue.CountAsync());
        if (refused)
        {
            Assert.Equal("550 5.6.0 Message contains bare CR or LF (RFC 5321 section 2.3.8)", verdict);
            Assert.Empty(await host.InboxAsync(Alice));
            return;
        }
        Assert.StartsWith("250 2.0.0 ", verdict, StringComparison.Ordinal);
        var body = Wire.SplitReceived(Assert.Single(await host.InboxAsync(Alice))).Body;
        var text = Encoding.UTF8.GetString(body);
        // The smuggled commands are message text, inside the one message.
        Assert.StartsWith("Subject: honest\r\n\r\nhello", text, StringComparison.Ordinal);
        Assert.Contains("MAIL FROM:<alice@example.test>", text, StringComparison.Ordinal);
        Assert.EndsWith("DATA\r\nSubject: smuggled\r\n\r\nevil\r\n", text, StringComparison.Ordinal);
        checkBody?.Invoke(body);
    }

    private static void AssertOnlyCrlf(byte[] body)
    {
        for (var i = 0; i < body.Length; i++)
        {
            if (body[i] == (byte)'\r')
            {
                Assert.True(i + 1 < body.Length && body[i + 1] == (byte)'\n', $"bare CR at {i}: {Wire.Preview(body)}");
            }
            else if (body[i] == (byte)'\n')
            {
                Assert.True(i > 0 && body[i - 1] == (byte)'\r', $"bare LF at {i}: {Wire.Preview(body)}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(LookAlikes))]
    public async Task Data_end_look_alike_on_port_25_never_ends_data_under_reject(string lookAlike, bool bare) =>
        await DataAsync(SmtpRole.Mx, BareLineEndingPolicy.Reject, lookAlike, bare);

    [Theory]
    [MemberData(nameof(LookAlikes))]
    public async Task Data_end_look_alike_on_port_25_never_ends_data_under_normalize(string lookAlike, bool bare) =>
        await DataAsync(SmtpRole.Mx, BareLineEndingPolicy.Normalize, lookAlike, bare);

    [Theory]
    [MemberData(nameof(LookAlikes))]
    public async Task Data_end_look_alike_on_submission_never_ends_data_under_reject(string lookAlike, bool bare) =>
        await DataAsync(SmtpRole.Submission, BareLineEndingPolicy.Reject, lookAlike, bare);

    [Theory]
    [MemberData(nameof(LookAlikes))]
    public async Task Data_end_look_alike_on_submission_never_ends_data_under_normalize(string lookAlike, bool bare) =>
        await DataAsync(SmtpRole.Submission, BareLineEndingPolicy.Normalize, lookAlike, bare);

    private static async Task DataAsync(SmtpRole role, BareLineEndingPolicy policy, string lookAlike, bool bare)
    {
        var ct = Wire.Timeout();
        await using var host = await HostAsync(policy);
        await using var c = await EnvelopeAsync(host, role, "", ct);
        await c.WriteAsync("DATA\r\n", ct);
        Assert.StartsWith("354 ", await c.ReadSingleLineReplyAsync(ct), StringComparison.Ordinal);

        // The whole attack in one write: the honest part, the look-alike, the smuggled transaction and its real end.
        await c.WriteAsync(Payload(lookAlike) + ".\r\nNOOP\r\n", ct);

        var verdict = await VerdictThenNoopAsync(c, ct);
        await AssertOutcomeAsync(host, verdict, refused: bare && policy == BareLineEndingPolicy.Reject,
            policy == BareLineEndingPolicy.Normalize ? AssertOnlyCrlf : null);
    }

    [Theory]
    [MemberData(nameof(LookAlikes))]
    public async Task Bdat_chunk_holding_a_data_end_look_alike_is_one_message_under_reject(string lookAlike, bool bare) =>
        await BdatAsync(SmtpRole.Mx, BareLineEndingPolicy.Reject, lookAlike, bare);

    [Theory]
    [MemberData(nameof(LookAlikes))]
    public async Task Bdat_chunk_holding_a_data_end_look_alike_is_one_message_under_normalize(string lookAlike, bool bare) =>
        await BdatAsync(SmtpRole.Submission, BareLineEndingPolicy.Normalize, lookAlike, bare);

    private static async Task BdatAsync(SmtpRole role, BareLineEndingPolicy policy, string lookAlike, bool bare)
    {
        var ct = Wire.Timeout();
        await using var host = await HostAsync(policy);
        await using var c = await EnvelopeAsync(host, role, "", ct);

        // BDAT is length-delimited: even a real "CRLF . CRLF" inside a chunk is message text.
        var chunk = Encoding.UTF8.GetBytes(Payload(lookAlike) + ".\r\n" + Smuggled);
        await c.WriteAsync([.. Encoding.ASCII.GetBytes($"BDAT {chunk.Length} LAST\r\n"), .. chunk, .. "NOOP\r\n"u8], ct);

        var verdict = await VerdictThenNoopAsync(c, ct);
        await AssertOutcomeAsync(host, verdict, refused: bare && policy == BareLineEndingPolicy.Reject,
            policy == BareLineEndingPolicy.Normalize ? AssertOnlyCrlf : null);
    }

    [Theory]
    [MemberData(nameof(LookAlikes))]
    public async Task Binarymime_bdat_chunk_holding_a_data_end_look_alike_is_stored_verbatim_as_one_message(string lookAlike, bool bare)
    {
        _ = bare; // BINARYMIME allows any octet: nothing is refused or rewritten.
        var ct = Wire.Timeout();
        await using var host = await HostAsync(BareLineEndingPolicy.Reject);
        await using var c = await EnvelopeAsync(host, SmtpRole.Mx, " BODY=BINARYMIME", ct);
        var chunk = Encoding.UTF8.GetBytes(Payload(lookAlike) + ".\r\n" + Smuggled);
        await c.WriteAsync([.. Encoding.ASCII.GetBytes($"BDAT {chunk.Length} LAST\r\n"), .. chunk, .. "NOOP\r\n"u8], ct);

        var verdict = await VerdictThenNoopAsync(c, ct);
        await AssertOutcomeAsync(host, verdict, refused: false, body => Wire.AssertSameBytes(chunk, body));
    }
}
