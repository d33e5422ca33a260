using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace Mail.Protocols.Users;

/// <summary>
/// The one form in which login names are compared and used as keys: Unicode normalisation form KC, then
/// lower case (invariant culture). Two logins are the same user exactly when their normal forms are equal
/// (ordinal), so the Kelvin sign (U+212A) logs in as "k", a full-width "ｋａｔｅ" as "kate", while "ı" (dotless i)
/// and "i" stay two users. The user directory, the stores (Maildir directory names, per-user locks), the POP3
/// maildrop lock and the SMTP duplicate filter all key users by this form; see docs/architecture.md.
/// </summary>
public static class UserName
{
    /// <summary>Compares logins by their normal form (a login that has none equals only itself, ordinally).</summary>
    public static StringComparer Comparer { get; } = new NormalFormComparer();

    /// <summary>The normal form of <paramref name="login"/>.</summary>
    /// <exception cref="ArgumentException">The login is empty or not valid Unicode (an unpaired surrogate).</exception>
    public static string Normalize(string login)
    {
        ArgumentException.ThrowIfNullOrEmpty(login);
        return TryNormalize(login, out var normalized)
            ? normalized
            : throw new ArgumentException("The login name is not valid Unicode.", nameof(login));
    }

    /// <summary>The normal form of <paramref name="login"/>, or false when it is empty or not valid Unicode.</summary>
    public static bool TryNormalize(string? login, [NotNullWhen(true)] out string? normalized)
    {
        normalized = null;
        if (string.IsNullOrEmpty(login))
        {
            return false;
        }
        if (IsAsciiLower(login))
        {
            normalized = login; // the common case, already in normal form
            return true;
        }
        try
        {
            var form = login.Normalize(NormalizationForm.FormKC).ToLowerInvariant();
            // Lower-casing can undo the composition of a few sequences; one more round makes the form stable.
            normalized = form.IsNormalized(NormalizationForm.FormKC) ? form : form.Normalize(NormalizationForm.FormKC).ToLowerInvariant();
            return true;
        }
        catch (ArgumentException)
        {
            return false; // an unpaired surrogate
        }
    }

    private static bool IsAsciiLower(string login)
    {
        foreach (var c in login)
        {
            if (c > 0x7F || c is >= 'A' and <= 'Z')
            {
                return false;
            }
        }
        return true;
    }

    private sealed class NormalFormComparer : StringComparer
    {
        public override int Compare(string? x, string? y) => string.CompareOrdinal(Key(x), Key(y));

        public override bool Equals(string? x, string? y) => string.Equals(Key(x), Key(y), StringComparison.Ordinal);

        public override int GetHashCode(string obj)
        {
            ArgumentNullException.ThrowIfNull(obj);
            return StringComparer.Ordinal.GetHashCode(Key(obj)!);
        }

        private static string? Key(string? login) => TryNormalize(login, out var normalized) ? normalized : login;
    }
}
