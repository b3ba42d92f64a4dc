using System.Text;
using Microsoft.Extensions.Primitives;

namespace ObservaCost.Storage.Security;

/// <summary>The ways a caller may present a token; each host accepts its own set.</summary>
[Flags]
public enum CredentialSchemes
{
    None = 0,

    /// <summary><c>Authorization: Bearer &lt;token&gt;</c>.</summary>
    Bearer = 1,

    /// <summary><c>Authorization: Token &lt;token&gt;</c> (InfluxDB 2.x clients, Telegraf <c>outputs.influxdb_v2</c>).</summary>
    Token = 2,

    /// <summary><c>Authorization: Basic</c> with the token as the password (InfluxDB 1.x clients).</summary>
    Basic = 4,

    /// <summary>The <c>p</c> query parameter holds the token (InfluxDB 1.x clients, Telegraf <c>outputs.influxdb</c>).</summary>
    QueryPassword = 8,
}

/// <summary>What a request presented: nothing, a token to check, or something that cannot be a token.</summary>
public enum CredentialStatus
{
    /// <summary>No <c>Authorization</c> header and no <c>p</c> parameter: the only case anonymous access may apply to.</summary>
    Absent,

    /// <summary>A well-formed token in an accepted scheme; it still has to match a configured hash.</summary>
    Presented,

    /// <summary>Something was presented that is not a token in an accepted scheme: always refused (401), never anonymous.</summary>
    Malformed,
}

/// <summary>
/// The credential of one request, read the same way by the collector's ingest endpoints and the analytics API: a
/// credential that is presented but malformed (<c>Bearer</c> with nothing after it, Basic that is not base64 of
/// <c>user:password</c>, an unknown scheme such as <c>Negotiate</c>, an empty <c>?p=</c>) is <see cref="CredentialStatus.Malformed"/>,
/// so it can never fall back to anonymous access. Kept free of ASP.NET Core so both hosts share it.
/// </summary>
public readonly record struct PresentedCredential(CredentialStatus Status, string? Token, string? Problem)
{
    private const int MaxSchemeShown = 24;

    /// <summary>Reads the <c>Authorization</c> header values and the <c>p</c> query values; the header wins when both are sent.</summary>
    public static PresentedCredential Read(StringValues authorization, StringValues queryPassword, CredentialSchemes accepted)
    {
        if (authorization.Count > 1)
        {
            return Malformed("more than one Authorization header");
        }

        if (authorization.Count == 1)
        {
            return ReadHeader(authorization[0] ?? string.Empty, accepted);
        }

        if ((accepted & CredentialSchemes.QueryPassword) != 0 && queryPassword.Count > 0)
        {
            return queryPassword.Count == 1 && !string.IsNullOrEmpty(queryPassword[0])
                ? new PresentedCredential(CredentialStatus.Presented, queryPassword[0], null)
                : Malformed("the 'p' parameter must hold exactly one non-empty token");
        }

        return new PresentedCredential(CredentialStatus.Absent, null, null);
    }

    /// <summary>A token handed over outside the <c>Authorization</c> header (the web's sign-in cookie or form); empty is malformed.</summary>
    public static PresentedCredential Of(string? token) =>
        string.IsNullOrEmpty(token) ? Malformed("the token is empty") : new PresentedCredential(CredentialStatus.Presented, token, null);

    private static PresentedCredential ReadHeader(string header, CredentialSchemes accepted)
    {
        string trimmed = header.Trim();
        if (trimmed.Length == 0)
        {
            return Malformed("the Authorization header is empty");
        }

        int space = trimmed.IndexOf(' ', StringComparison.Ordinal);
        string scheme = space < 0 ? trimmed : trimmed[..space];
        string value = space < 0 ? string.Empty : trimmed[(space + 1)..].Trim();
        if (Is(scheme, "Bearer", CredentialSchemes.Bearer, accepted) || Is(scheme, "Token", CredentialSchemes.Token, accepted))
        {
            return value.Length == 0 || value.Any(char.IsWhiteSpace) || value.Any(char.IsControl)
                ? Malformed($"'{scheme}' must be followed by exactly one token")
                : new PresentedCredential(CredentialStatus.Presented, value, null);
        }

        if (Is(scheme, "Basic", CredentialSchemes.Basic, accepted))
        {
            return ReadBasic(value);
        }

        string shown = new([.. scheme.Take(MaxSchemeShown).Select(c => char.IsControl(c) ? '?' : c)]);
        return Malformed($"the authorization scheme '{shown}' is not accepted here; send {Describe(accepted)}");
    }

    private static PresentedCredential ReadBasic(string value)
    {
        var bytes = new byte[(value.Length * 3 / 4) + 3];
        if (value.Length == 0 || !Convert.TryFromBase64String(value, bytes, out int written))
        {
            return Malformed("'Basic' must be followed by base64 of user:token");
        }

        string decoded;
        try
        {
            decoded = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetString(bytes, 0, written);
        }
        catch (DecoderFallbackException)
        {
            return Malformed("'Basic' credentials are not UTF-8");
        }

        int colon = decoded.IndexOf(':', StringComparison.Ordinal);
        return colon < 0 || colon == decoded.Length - 1
            ? Malformed("'Basic' credentials must be user:token with a non-empty token")
            : new PresentedCredential(CredentialStatus.Presented, decoded[(colon + 1)..], null);
    }

    private static bool Is(string scheme, string name, CredentialSchemes flag, CredentialSchemes accepted) =>
        (accepted & flag) != 0 && scheme.Equals(name, StringComparison.OrdinalIgnoreCase);

    private static string Describe(CredentialSchemes accepted)
    {
        var forms = new List<string>();
        if ((accepted & CredentialSchemes.Bearer) != 0)
        {
            forms.Add("'Authorization: Bearer <token>'");
        }

        if ((accepted & CredentialSchemes.Token) != 0)
        {
            forms.Add("'Authorization: Token <token>'");
        }

        if ((accepted & CredentialSchemes.Basic) != 0)
        {
            forms.Add("Basic user:token");
        }

        if ((accepted & CredentialSchemes.QueryPassword) != 0)
        {
            forms.Add("?p=<token>");
        }

        return string.Join(" or ", forms);
    }

    private static PresentedCredential Malformed(string problem) => new(CredentialStatus.Malformed, null, problem);
}
