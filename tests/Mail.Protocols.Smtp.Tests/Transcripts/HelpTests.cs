using System.Text;

namespace Mail.Protocols.Smtp.Tests.Transcripts;

/// <summary>
/// HELP with a command name (RFC 5321 §4.1.1.8): 214 lines with the syntax and a description, whether the command is
/// available to this client where that varies, 504 for a topic that is not a command, 501 for non-printable octets.
/// </summary>
public class HelpTests
{
    private const string End = "214 2.0.0 End of HELP info";

    private static SmtpTestHarness Harness(Action<SmtpServerOptions>? configure = null) =>
        new(o =>
        {
            o.FailedAuthDelay = TimeSpan.Zero;
            configure?.Invoke(o);
        });

    private static string Plain(string login, string password) => Convert.ToBase64String(Encoding.UTF8.GetBytes("\0" + login + "\0" + password));



    [Theory]
    [InlineData("HELO", "HELO <domain>")]
    [InlineData("EHLO", "EHLO <domain>")]
    [InlineData("MAIL", "MAIL FROM:<reverse-path> [SIZE=<octets>] [BODY=7BIT|8BITMIME|BINARYMIME] [SMTPUTF8] [RET=FULL|HDRS] [ENVID=<xtext>] [AUTH=<mailbox>]")]
    [InlineData("RCPT", "RCPT TO:<forward-path> [NOTIFY=NEVER|SUCCESS,FAILURE,DELAY] [ORCPT=<type>;<xtext>]")]
    [InlineData("DATA", "DATA")]
    [InlineData("BDAT", "BDAT <octets> [LAST]")]
    [InlineData("RSET", "RSET")]
    [InlineData("NOOP", "NOOP [<text>]")]
    [InlineData("QUIT", "QUIT")]
    [InlineData("HELP", "HELP [<command>]")]
    [InlineData("VRFY", "VRFY <address> | VRFY <local-part>")]
    [InlineData("EXPN", "EXPN <address>")]
    [InlineData("VERB", "VERB")]
    [InlineData("STARTTLS", "STARTTLS")]
    [InlineData("AUTH", "AUTH <mechanism> [<initial-response>]")]
    public async Task Help_with_a_command_answers_214_lines_starting_with_its_syntax(string topic, string syntax)
    {
        await using var h = Harness();
        await h.StartAsync();
        var lines = await h.CommandLinesAsync("HELP " + topic);
        Assert.Equal("214-2.0.0 " + syntax, lines[0]);
        Assert.InRange(lines.Count, 3, 4); // syntax, description, perhaps availability, end
        Assert.All(lines[..^1], line => Assert.StartsWith("214-2.0.0 ", line, StringComparison.Ordinal));
        Assert.Equal(End, lines[^1]);
        Assert.Equal("250 2.0.0 OK", await h.CommandAsync("NOOP"));
    }

    [Fact]
    public async Task Help_mail_is_the_exact_transcript()
    {
        await using var h = Harness();
        await h.StartAsync();
        Assert.Equal(
            [
                "214-2.0.0 MAIL FROM:<reverse-path> [SIZE=<octets>] [BODY=7BIT|8BITMIME|BINARYMIME] [SMTPUTF8] [RET=FULL|HDRS] [ENVID=<xtext>] [AUTH=<mailbox>]",
                "214-2.0.0 Starts a mail transaction from that sender; <> is the null sender of a bounce.",
                End,
            ],
            await h.CommandLinesAsync("HELP MAIL"));
    }

    [Theory]
    [InlineData("HELP mail")]
    [InlineData("help Mail")]
    [InlineData("HELP  MAIL")]
    [InlineData("HELP MAIL  ")]
    [InlineData("HELP \tmAiL\t ")]
    public async Task The_topic_is_case_insensitive_and_white_space_around_it_is_ignored(string command)
    {
        await using var h = Harness();
        await h.StartAsync();
        var lines = await h.CommandLinesAsync(command);
        Assert.StartsWith("214-2.0.0 MAIL FROM:<reverse-path>", lines[0], StringComparison.Ordinal);
        Assert.Equal(End, lines[^1]);
    }

    [Theory]
    [InlineData("HELP FOO")]
    [InlineData("HELP MAIL FROM")]
    [InlineData("HELP MAILX")]
    [InlineData("HELP MAI")]
    [InlineData("HELP STARTTLSX")]
    [InlineData("HELP START")]
    [InlineData("HELP <MAIL>")]
    public async Task A_topic_that_is_not_a_command_answers_504_and_the_session_goes_on(string command)
    {
        await using var h = Harness();
        await h.StartAsync();
        Assert.Equal(["504 5.5.4 HELP topic not recognized"], await h.CommandLinesAsync(command));
        Assert.Equal("250 2.1.0 Sender ok", await h.CommandAsync("MAIL FROM:<sender@example.org>"));
        Assert.Equal("250 2.1.5 Recipient ok", await h.CommandAsync("RCPT TO:<alice@example.test>"));
        Assert.StartsWith("354 ", await h.CommandAsync("DATA"));
        Assert.EndsWith("Message accepted for delivery", await h.CommandAsync("Subject: after help\r\n\r\nhi\r\n."), StringComparison.Ordinal);
        Assert.Single(await h.Store.ListMessagesAsync("alice@example.test", "INBOX"));
    }

    [Theory]
    [InlineData(new byte[] { (byte)'M', (byte)'A', 0x01, (byte)'I', (byte)'L' })]
    [InlineData(new byte[] { (byte)'M', (byte)'A', (byte)'I', (byte)'L', 0x7f })]
    [InlineData(new byte[] { 0xc3, 0xa9 })] // é in UTF-8
    [InlineData(new byte[] { (byte)'M', (byte)'A', (byte)'I', (byte)'L', 0x00 })]
    public async Task A_topic_with_non_printable_octets_answers_501(byte[] topic)
    {
        await using var h = Harness();
        await h.StartAsync();
        await h.SendAsync([.. "HELP "u8, .. topic, .. "\r\n"u8]);
        Assert.Equal(["501 5.5.4 Syntax error in parameters or arguments"], await h.ReadReplyLinesAsync());
        Assert.Equal("250 2.0.0 OK", await h.CommandAsync("NOOP"));
    }

    [Fact]
    public async Task Help_without_a_topic_still_lists_the_commands()
    {
        await using var h = Harness(o => o.AllowPlaintextAuth = true);
        await h.StartAsync();
        Assert.Equal(["214-2.0.0 Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT HELP VRFY VERB AUTH", End], await h.CommandLinesAsync("HELP"));
        Assert.Equal(["214-2.0.0 Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT HELP VRFY VERB AUTH", End], await h.CommandLinesAsync("HELP   "));
    }

    [Theory]
    [InlineData(AddressQueryMode.Off, "214-2.0.0 Not answered on this server: every address gets 252.", "214-2.0.0 Switched off on this server: it gets 502.")]
    [InlineData(AddressQueryMode.On, "214-2.0.0 Answered in this session.", "214-2.0.0 Answered in this session.")]
    [InlineData(AddressQueryMode.Authenticated, "214-2.0.0 Answered after AUTH only; before that every address gets 252.", "214-2.0.0 Answered after AUTH only; before that it gets 530.")]
    public async Task Help_vrfy_and_expn_say_whether_this_server_answers_them(AddressQueryMode mode, string vrfy, string expn)
    {
        await using var h = Harness(o =>
        {
            o.Vrfy = mode;
            o.Expn = mode;
            o.AllowPlaintextAuth = true;
        });
        await h.StartAsync();
        Assert.Equal(vrfy, (await h.CommandLinesAsync("HELP VRFY"))[^2]);
        Assert.Equal(expn, (await h.CommandLinesAsync("HELP EXPN"))[^2]);
        if (mode == AddressQueryMode.Authenticated)
        {
            Assert.StartsWith("235 ", await h.CommandAsync("AUTH PLAIN " + Plain("alice@example.test", "alice")));
            Assert.Equal("214-2.0.0 Answered in this session.", (await h.CommandLinesAsync("HELP VRFY"))[^2]);
            Assert.Equal("214-2.0.0 Answered in this session.", (await h.CommandLinesAsync("HELP EXPN"))[^2]);
        }
    }

    [Fact]
    public async Task Help_auth_names_the_mechanisms_until_the_session_has_logged_in()
    {
        await using var h = Harness(o => o.AllowPlaintextAuth = true);
        await h.StartAsync();
        Assert.Equal("214-2.0.0 Mechanisms: " + string.Join(' ', h.Options.AuthMechanisms), (await h.CommandLinesAsync("HELP AUTH"))[^2]);
        Assert.StartsWith("235 ", await h.CommandAsync("AUTH PLAIN " + Plain("alice@example.test", "alice")));
        Assert.Equal("214-2.0.0 This session has already authenticated.", (await h.CommandLinesAsync("HELP AUTH"))[^2]);
    }

    [Fact]
    public async Task Help_auth_and_starttls_say_what_a_plaintext_connection_without_tls_gets()
    {
        await using var h = Harness();
        await h.StartAsync();
        Assert.Equal("214-2.0.0 Offered only on a TLS connection.", (await h.CommandLinesAsync("HELP AUTH"))[^2]);
        Assert.Equal("214-2.0.0 Not offered on this connection.", (await h.CommandLinesAsync("HELP STARTTLS"))[^2]);
    }

    [Fact]
    public async Task Help_auth_on_a_server_without_mechanisms_says_so()
    {
        await using var h = Harness(o =>
        {
            o.AllowPlaintextAuth = true;
            o.AuthMechanisms.Clear();
        });
        await h.StartAsync();
        Assert.Equal("214-2.0.0 Not offered on this server.", (await h.CommandLinesAsync("HELP AUTH"))[^2]);
    }

    [Fact]
    public async Task Help_topics_work_before_ehlo_and_inside_a_transaction_without_disturbing_it()
    {
        await using var h = Harness();
        Assert.StartsWith("220 ", await h.ReadReplyAsync());
        Assert.Equal(End, (await h.CommandLinesAsync("HELP EHLO"))[^1]);
        Assert.StartsWith("250 ", await h.CommandAsync("EHLO client.example.org"));
        Assert.Equal("250 2.1.0 Sender ok", await h.CommandAsync("MAIL FROM:<sender@example.org>"));
        Assert.Equal(End, (await h.CommandLinesAsync("HELP RCPT"))[^1]);
        Assert.Equal("250 2.1.5 Recipient ok", await h.CommandAsync("RCPT TO:<bob@example.test>"));
        Assert.Equal(["504 5.5.4 HELP topic not recognized"], await h.CommandLinesAsync("HELP ME"));
        Assert.StartsWith("354 ", await h.CommandAsync("DATA"));
        Assert.EndsWith("Message accepted for delivery", await h.CommandAsync("Subject: help inside\r\n\r\nhi\r\n."), StringComparison.Ordinal);
        Assert.Single(await h.Store.ListMessagesAsync("bob@example.test", "INBOX"));
    }
}
