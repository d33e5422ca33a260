using MailKit.Net.Smtp;
using MailKit.Security;
using Mail.Protocols.Smtp;
using Mail.Protocols.Testing;

namespace WelcomeMailer.Tests;

[Collection("mail")]
public sealed class MailerTests
{
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(30);
    private readonly MailTestServer _server;

    public MailerTests(MailServerFixture fixture)
    {
        _server = fixture.Server;
        _server.Purge();
    }

    private Mailer PlainMailer() => new(new SmtpSettings(_server.Host, _server.SmtpPort, SecureSocketOptions.None), TimeSpan.FromMilliseconds(10));

    [Fact]
    public async Task Welcome_message_goes_to_the_new_user()
    {
        await PlainMailer().SendWelcomeAsync("new.user@example.test", "Ada");

        var mail = Assert.Single(await _server.WaitForMessagesAsync(1, s_wait));
        Assert.Equal(Mailer.From, mail.Sender);
        Assert.Equal(["new.user@example.test"], mail.Recipients);
        Assert.Equal("Welcome, Ada!", mail.Message.Subject);
        Assert.Contains("your account is ready", mail.Message.TextBody, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_temporary_refusal_is_tried_again_once()
    {
        var attempts = 0;
        _server.Faults.Recipient = _ => Interlocked.Increment(ref attempts) == 1 ? MailTestFaults.TryAgainLater : null;

        await PlainMailer().SendWelcomeAsync("new.user@example.test", "Ada");

        Assert.Equal(2, attempts);
        Assert.Single(await _server.WaitForMessagesAsync(1, s_wait));
    }

    [Fact]
    public async Task A_permanent_refusal_is_not_retried()
    {
        var attempts = 0;
        _server.Faults.Recipient = _ =>
        {
            Interlocked.Increment(ref attempts);
            return new SmtpReply(550, "5.1.1", "No such user");
        };

        var refused = await Assert.ThrowsAsync<SmtpCommandException>(() => PlainMailer().SendWelcomeAsync("gone@example.test", "Gone"));

        Assert.Equal(550, (int)refused.StatusCode);
        Assert.Equal(1, attempts);
        Assert.Empty(_server.Messages);
    }

    [Fact]
    public async Task Mail_sent_through_submission_is_encrypted_and_signed_in()
    {
        var settings = new SmtpSettings(_server.Host, _server.SubmissionPort, SecureSocketOptions.StartTls, "shop@shop.example", "shop-password")
        {
            CertificateValidation = _server.CertificateValidationCallback,
        };

        await new Mailer(settings, TimeSpan.Zero).SendWelcomeAsync("new.user@example.test", "Ada");

        var mail = Assert.Single(await _server.WaitForMessagesAsync(1, s_wait));
        Assert.True(mail.IsSecure);
        Assert.Equal("shop@shop.example", mail.AuthenticatedUser);
        Assert.Equal(_server.SubmissionPort, mail.Port);
    }
}
