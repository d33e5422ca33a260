using System.Net.Security;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;

namespace WelcomeMailer;

/// <summary>Where the application sends its mail.</summary>
/// <param name="Host">The SMTP server.</param>
/// <param name="Port">Its port.</param>
/// <param name="Security">How the connection is secured.</param>
/// <param name="UserName">The login, or null to send without one.</param>
/// <param name="Password">The password.</param>
public sealed record SmtpSettings(string Host, int Port, SecureSocketOptions Security = SecureSocketOptions.StartTlsWhenAvailable,
    string? UserName = null, string? Password = null)
{
    /// <summary>The server certificate check; null uses the operating system's trust.</summary>
    public RemoteCertificateValidationCallback? CertificateValidation { get; init; }
}

/// <summary>The application's mail: a welcome message to each new user, retried once when the server says "later".</summary>
public sealed class Mailer(SmtpSettings settings, TimeSpan retryDelay)
{
    /// <summary>The sender of every message.</summary>
    public const string From = "welcome@shop.example";

    /// <summary>Sends the welcome message; a temporary refusal (4xx) is tried once more after the retry delay.</summary>
    /// <exception cref="SmtpCommandException">The server refused for good (5xx), or twice.</exception>
    public async Task SendWelcomeAsync(string address, string name, CancellationToken cancellationToken = default)
    {
        var message = new MimeMessage();
        message.From.Add(new MailboxAddress("The Shop", From));
        message.To.Add(new MailboxAddress(name, address));
        message.Subject = $"Welcome, {name}!";
        message.Body = new TextPart("plain") { Text = $"Hello {name},\n\nyour account is ready.\n" };
        try
        {
            await SendAsync(message, cancellationToken);
        }
        catch (SmtpCommandException e) when ((int)e.StatusCode is >= 400 and < 500)
        {
            await Task.Delay(retryDelay, cancellationToken);
            await SendAsync(message, cancellationToken);
        }
    }

    private async Task SendAsync(MimeMessage message, CancellationToken cancellationToken)
    {
        using var client = new SmtpClient();
        if (settings.CertificateValidation is { } validation)
        {
            client.ServerCertificateValidationCallback = validation;
        }
        await client.ConnectAsync(settings.Host, settings.Port, settings.Security, cancellationToken);
        if (settings.UserName is { } user)
        {
            await client.AuthenticateAsync(user, settings.Password ?? "", cancellationToken);
        }
        await client.SendAsync(message, cancellationToken);
        await client.DisconnectAsync(true, cancellationToken);
    }
}
