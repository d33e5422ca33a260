namespace Mail.Protocols.Sasl;

/// <summary>A bearer token presented with OAUTHBEARER (RFC 7628) or XOAUTH2, with what the client said about it.</summary>
/// <param name="Mechanism">The mechanism that carried it: <see cref="SaslMechanisms.OAuthBearer"/> or <see cref="SaslMechanisms.XOAuth2"/>.</param>
/// <param name="Token">The access token (RFC 6750 b64token), exactly as sent.</param>
/// <param name="User">
/// Who the client says it is: OAUTHBEARER's authorization identity (<c>a=</c>) or XOAUTH2's <c>user=</c>; null when
/// absent. The mechanism checks it against the user the token belongs to; a validator need not.
/// </param>
/// <param name="Protocol">The protocol: <c>smtp</c>, <c>pop3</c> or <c>imap</c>.</param>
public sealed record OAuthToken(string Mechanism, string Token, string? User, string Protocol);

/// <summary>
/// Checks OAuth 2.0 bearer tokens for <see cref="SaslMechanisms.OAuthBearer"/> and <see cref="SaslMechanisms.XOAuth2"/>:
/// the application's part (signature, issuer, audience, expiry and scope of a JWT, or introspection at the issuer).
/// </summary>
public interface IOAuthTokenValidator
{
    /// <summary>
    /// Returns the login of the user the token was issued to, or null when the token is not valid (expired, revoked,
    /// for another audience or scope). The login is then looked up in the server's user directory, like a password
    /// login: a user the directory does not know fails. Throwing is a temporary failure (the client is told to try
    /// again later), as for a failing user directory.
    /// </summary>
    ValueTask<string?> ValidateAsync(OAuthToken token, CancellationToken cancellationToken = default);
}

/// <summary>Registers the OAuth 2.0 bearer-token mechanisms.</summary>
public static class OAuthMechanismsExtensions
{
    /// <summary>
    /// Registers OAUTHBEARER (RFC 7628). Offer it by adding <see cref="SaslMechanisms.OAuthBearer"/> to
    /// <see cref="MailServerOptions.AuthMechanisms"/>; like every mechanism it is offered only over TLS unless
    /// plaintext authentication is allowed (a bearer token is a password for as long as it lives).
    /// </summary>
    /// <param name="registry">The registry.</param>
    /// <param name="validator">Checks each token.</param>
    /// <param name="scope">The scope a client should ask for, sent in the error reply (RFC 7628 §3.2.2); null: none.</param>
    /// <param name="openIdConfiguration">Where the client finds the issuer's OpenID configuration, sent in the error reply; null: none.</param>
    public static SaslMechanismRegistry AddOAuthBearer(this SaslMechanismRegistry registry, IOAuthTokenValidator validator, string? scope = null, Uri? openIdConfiguration = null)
    {
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(validator);
        var error = OAuthBearerMechanism.ErrorJson(scope, openIdConfiguration);
        registry.Add(SaslMechanisms.OAuthBearer, c => new OAuthBearerMechanism(validator, c, error));
        return registry;
    }

    /// <summary>
    /// Registers XOAUTH2, the older bearer-token mechanism that Google and Microsoft services defined before RFC 7628
    /// and that most clients still send. Offer it by adding <see cref="SaslMechanisms.XOAuth2"/> to
    /// <see cref="MailServerOptions.AuthMechanisms"/>.
    /// </summary>
    /// <param name="registry">The registry.</param>
    /// <param name="validator">Checks each token.</param>
    /// <param name="scope">The scope a client should ask for, sent in the error reply; null: none.</param>
    public static SaslMechanismRegistry AddXOAuth2(this SaslMechanismRegistry registry, IOAuthTokenValidator validator, string? scope = null)
    {
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(validator);
        var error = XOAuth2Mechanism.ErrorJson(scope);
        registry.Add(SaslMechanisms.XOAuth2, c => new XOAuth2Mechanism(validator, c, error));
        return registry;
    }
}
