using System.Text;
using Mail.Protocols.Users;

namespace Mail.Protocols.Sasl;

// The LOGIN mechanism: the server asks "Username:" then "Password:"; an initial response is the user name.
internal sealed class LoginMechanism(IUserDirectory users) : SaslMechanism
{
    private static readonly byte[] s_username = "Username:"u8.ToArray();
    private static readonly byte[] s_password = "Password:"u8.ToArray();
    private string? _login;

    public override string Name => SaslMechanisms.Login;

    public override bool IsPlaintext => true;

    // "=" is an empty user name, not an absent one (RFC 4954 §4, RFC 5034 §4).
    public override ValueTask<SaslStep> StartAsync(byte[]? initialResponse, CancellationToken cancellationToken = default) =>
        initialResponse is null
            ? ValueTask.FromResult(SaslStep.Challenge(s_username))
            : StepAsync(initialResponse, cancellationToken);

    public override async ValueTask<SaslStep> StepAsync(byte[] response, CancellationToken cancellationToken = default)
    {
        string text;
        try
        {
            text = SaslText.Utf8.GetString(response);
        }
        catch (DecoderFallbackException)
        {
            return SaslStep.Malformed("LOGIN response is not UTF-8");
        }
        if (_login is null)
        {
            if (text.Length == 0)
            {
                return SaslStep.Malformed("LOGIN user name is empty");
            }
            _login = text;
            return SaslStep.Challenge(s_password);
        }
        var user = await users.FindByLoginAsync(_login, cancellationToken).ConfigureAwait(false);
        if (user is null || !await users.VerifyPasswordAsync(user, text, cancellationToken).ConfigureAwait(false))
        {
            return SaslStep.Failed("invalid credentials");
        }
        return SaslStep.Success(user);
    }
}
