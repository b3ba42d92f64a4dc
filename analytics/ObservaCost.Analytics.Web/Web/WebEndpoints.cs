using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using ObservaCost.Analytics.Api;
using ObservaCost.Security;
using ObservaCost.Storage;

namespace ObservaCost.Analytics.Web;

/// <summary>What a view gives the endpoint: its tables (shown, and each downloadable as CSV) and how to draw the page.</summary>
public sealed record WebViewContent(IReadOnlyList<WebTable> Tables, Action<Html> Render);

/// <summary>A request to a view once authenticated: the caller, the period and the query.</summary>
public sealed record WebRequest(HttpContext Context, ApiCaller Caller, WebPeriod Period, DateTimeOffset Now, IServiceProvider Services)
{
    public IQueryCollection Query => Context.Request.Query;

    /// <summary>A filter value of the query, or null when absent or empty.</summary>
    public string? Filter(string name)
    {
        string? value = Query[name];
        return string.IsNullOrWhiteSpace(value) ? null : value;
    }

    /// <summary>
    /// The CSV download of one table: this view's path and filters with <c>format=csv&amp;table=id</c>, the period
    /// and the moment pinned (<c>from</c>, <c>to</c>, <c>at</c>) so that the file holds the rows the page showed.
    /// </summary>
    public string CsvHref(string tableId) => Link(Context.Request.Path, Query.Where(q => q.Key is not ("format" or "table" or "last" or "from" or "to" or "at"))
        .Select(q => (q.Key, (string?)q.Value.ToString()))
        .Concat([
            ("from", Period.From.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture)),
            ("to", Period.To.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture)),
            ("at", Now.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture)),
            ("format", "csv"), ("table", tableId)]));

    /// <summary>A link to <paramref name="path"/> with the parameters that have a value, URL-encoded.</summary>
    public static string Link(string path, IEnumerable<(string Key, string? Value)> parameters)
    {
        var link = new StringBuilder(path);
        char separator = '?';
        foreach ((string key, string? value) in parameters)
        {
            if (!string.IsNullOrEmpty(value))
            {
                link.Append(separator).Append(Uri.EscapeDataString(key)).Append('=').Append(Uri.EscapeDataString(value));
                separator = '&';
            }
        }

        return link.ToString();
    }
}

/// <summary>
/// The web overview: <c>/</c> (the three views), <c>/fleet</c> (platform engineers, admin only), <c>/cost</c>
/// (FinOps), <c>/efficiency</c> (investors, admin only), and <c>/signin</c>, <c>/signout</c>. Pages are HTML written on the
/// server by <see cref="Html"/> (encoded by construction, no script); charts are inline SVG from the report's chart
/// code. Every view reads through the API's readers as the caller, so a tenant token sees its own rows only, and
/// authenticates like the API: a read token as a Bearer header, or the sign-in cookie, or anonymous from loopback
/// where <c>Analytics:Api:AllowAnonymousLoopback</c> allows it.
/// </summary>
public static partial class WebEndpoints
{
    public const string SignInPath = "/signin";
    public const string SignOutPath = "/signout";

    /// <summary>The largest sign-in form body read.</summary>
    private const int MaxSignInBytes = 8 * 1024;

    /// <summary>Registers the views' services; the host adds the API (<c>AddAnalyticsApi</c>), whose readers the views use.</summary>
    public static IServiceCollection AddAnalyticsWeb(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<FleetNowReader>();
        return services;
    }

    /// <summary>Maps the pages beside the API, on the same port.</summary>
    public static IEndpointRouteBuilder MapAnalyticsWeb(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        endpoints.MapGet("/", View(request => Task.FromResult(IndexView.Build(request)), adminOnly: false)).ExcludeFromDescription();
        endpoints.MapGet("/fleet", View(FleetView.BuildAsync, adminOnly: true)).ExcludeFromDescription();
        endpoints.MapGet("/cost", View(CostView.BuildAsync, adminOnly: false)).ExcludeFromDescription();
        endpoints.MapGet("/efficiency", View(EfficiencyView.BuildAsync, adminOnly: true)).ExcludeFromDescription();
        endpoints.MapGet(SignInPath, (HttpContext context) => SignInPage(context, StatusCodes.Status200OK, null, LocalPath(context.Request.Query["return"]) ?? "/")).ExcludeFromDescription();
        endpoints.MapPost(SignInPath, SignInAsync).ExcludeFromDescription();
        endpoints.MapPost(SignOutPath, SignOut).ExcludeFromDescription();
        return endpoints;
    }

    private static Func<HttpContext, Task<IResult>> View(Func<WebRequest, Task<WebViewContent>> build, bool adminOnly) =>
        context => PageAsync(context, build, adminOnly);

    /// <summary>One path for every view: authenticate, parse the period, build, then the page or one table's CSV.</summary>
    private static async Task<IResult> PageAsync(HttpContext context, Func<WebRequest, Task<WebViewContent>> build, bool adminOnly)
    {
        AuthenticateResult authentication = await context.AuthenticateAsync(TokenAuthorization.ReadScheme);
        if (!authentication.Succeeded)
        {
            TokenRefusal? refused = TokenAuthenticationHandler.RefusalOf(context);
            if (refused?.RetryAfter is TimeSpan retryAfter)
            {
                context.Response.Headers.RetryAfter = Math.Max(1, (long)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
            }

            return SignInPage(context, refused?.StatusCode ?? StatusCodes.Status401Unauthorized, refused is { CredentialPresented: true } ? "That token is not a read token of this service." : null, LocalReturn(context));
        }

        ApiCaller caller = ApiCaller.Of(authentication.Principal);
        if (adminOnly && !(await context.RequestServices.GetRequiredService<IAuthorizationService>().AuthorizeAsync(authentication.Principal, TokenAuthorization.AdminPolicy)).Succeeded)
        {
            return Message(StatusCodes.Status403Forbidden, "This view is for admin tokens", caller,
                "The fleet and efficiency views show shared GPUs, pools, their idle capacity and the fleet's report, which belong to no tenant (as /api/v1/idle, /anomalies and /reports): a tenant token reads the Cost view of its own rows.");
        }

        // "Now" is the clock's, or the at= a CSV link pinned (the moment its page was drawn), to the second.
        TimeProvider time = context.RequestServices.GetRequiredService<TimeProvider>();
        DateTimeOffset now = time.GetUtcNow();
        if (!string.IsNullOrEmpty(context.Request.Query["at"]))
        {
            if (!DateTimeOffset.TryParseExact(context.Request.Query["at"], "yyyy-MM-ddTHH:mm:ssK", CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal, out DateTimeOffset at) || at > now)
            {
                return Message(StatusCodes.Status400BadRequest, "Moment not understood", caller, "at must be a past UTC time such as 2026-11-30T10:00:00Z.");
            }

            now = at;
        }

        now = new DateTimeOffset(now.UtcTicks - (now.UtcTicks % TimeSpan.TicksPerSecond), TimeSpan.Zero);
        if (WebPeriod.Parse(context.Request.Query, now, out string? problem) is not WebPeriod period)
        {
            return Message(StatusCodes.Status400BadRequest, "Period not understood", caller, problem!);
        }

        var request = new WebRequest(context, caller, period, now, context.RequestServices);
        WebViewContent content;
        try
        {
            content = await build(request);
        }
        catch (WebProblemException ex)
        {
            return Message(ex.Problem.Status, ex.Problem.Title, caller, ex.Problem.Detail);
        }
        catch (StoreUnavailableException ex)
        {
            context.Response.Headers.RetryAfter = "30";
            return Message(StatusCodes.Status503ServiceUnavailable, "Store unavailable", caller, "The time-series store could not be reached: " + ex.Message);
        }

        if (string.Equals(context.Request.Query["format"], "csv", StringComparison.Ordinal))
        {
            string? id = context.Request.Query["table"];
            WebTable? table = content.Tables.FirstOrDefault(t => string.Equals(t.Id, id, StringComparison.Ordinal));
            if (table is null)
            {
                return Message(StatusCodes.Status404NotFound, "No such table", caller,
                    "table must name one of this view's tables: " + string.Join(", ", content.Tables.Select(t => t.Id)) + ".");
            }

            context.Response.Headers.ContentDisposition = "attachment; filename=\"" + table.Id + ".csv\"";
            return TypedResults.Text(table.ToCsv(), "text/csv; charset=utf-8", Encoding.UTF8);
        }

        var html = new Html();
        content.Render(html);
        return Page(StatusCodes.Status200OK, html.ToString());
    }

    private static IResult Message(int status, string title, ApiCaller? caller, string text)
    {
        Html html = WebLayout.Begin(title, string.Empty, caller, null, null);
        html.Element("p", text, ("class", "error"));
        html.Open("p").Element("a", "Back to the overview", ("href", "/")).Close("p");
        return Page(status, WebLayout.End(html));
    }

    private static IResult SignInPage(HttpContext context, int status, string? problem, string back)
    {
        Html html = WebLayout.Begin("Sign in", SignInPath, null, null, null);
        html.Element("p", "Paste a read token of this service (Analytics:Api:Tokens). It is kept in an HttpOnly, SameSite=Strict cookie for this browser session and sent to this service only; sign out to remove it.", ("class", "note"));
        if (problem is not null)
        {
            html.Element("p", problem, ("class", "error"));
        }

        html.Open("form", ("class", "signin"), ("method", "post"), ("action", SignInPath));
        html.Open("label", ("for", "token")).Text("Read token").Close("label");
        html.Void("input", ("id", "token"), ("name", "token"), ("type", "password"), ("autocomplete", "current-password"), ("required", "required"));
        html.Void("input", ("type", "hidden"), ("name", "return"), ("value", back));
        html.Element("button", "Sign in", ("type", "submit"));
        html.Close("form");
        return Page(status, WebLayout.End(html));
    }

    /// <summary>
    /// Checks the posted token with the read scheme's handler (rate-limited like every attempt); a good one is set as the
    /// HttpOnly, SameSite=Strict cookie (Secure over HTTPS) and the browser goes back to the page it came from.
    /// </summary>
    private static async Task<IResult> SignInAsync(HttpContext context, ILoggerFactory loggers)
    {
        if (!SameOrigin(context.Request))
        {
            return TypedResults.StatusCode(StatusCodes.Status403Forbidden);
        }

        if (context.Request.ContentLength is not long length || length > MaxSignInBytes || !context.Request.HasFormContentType)
        {
            return SignInPage(context, StatusCodes.Status400BadRequest, "Send the sign-in form (at most 8 KiB).", "/");
        }

        IFormCollection form = await context.Request.ReadFormAsync(context.RequestAborted);
        string token = form["token"].ToString().Trim();
        string back = LocalPath(form["return"]) ?? "/";
        AuthenticateResult? authentication = token.Length == 0 ? null : await TokenAuthenticationHandler.AuthenticateTokenAsync(context, TokenAuthorization.ReadScheme, token);
        if (authentication is not { Succeeded: true })
        {
            return SignInPage(context, StatusCodes.Status401Unauthorized, "That token is not a read token of this service.", back);
        }

        ILogger logger = loggers.CreateLogger(typeof(WebEndpoints).FullName!);
        string name = ApiCaller.Of(authentication.Principal).Name;
        LogSignedIn(logger, name);
        context.Response.Cookies.Append(ApiAuthentication.CookieName, token, new CookieOptions
        {
            HttpOnly = true,
            SameSite = SameSiteMode.Strict,
            Secure = context.Request.IsHttps,
            Path = "/",
            IsEssential = true,
        });
        return TypedResults.Redirect(back);
    }

    private static IResult SignOut(HttpContext context)
    {
        if (!SameOrigin(context.Request))
        {
            return TypedResults.StatusCode(StatusCodes.Status403Forbidden);
        }

        context.Response.Cookies.Delete(ApiAuthentication.CookieName, new CookieOptions { Path = "/", SameSite = SameSiteMode.Strict, HttpOnly = true });
        return TypedResults.Redirect(SignInPath);
    }

    /// <summary>A form post from another site is refused: its Origin, when sent, must be this host.</summary>
    private static bool SameOrigin(HttpRequest request)
    {
        string? origin = request.Headers.Origin;
        return string.IsNullOrEmpty(origin)
            || (Uri.TryCreate(origin, UriKind.Absolute, out Uri? uri) && string.Equals(uri.Authority, request.Host.Value, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>A path on this site (<c>/cost?…</c>), never another site (<c>//host</c>, <c>https://…</c>).</summary>
    private static string? LocalPath(string? path) =>
        !string.IsNullOrEmpty(path) && path[0] == '/' && (path.Length == 1 || (path[1] != '/' && path[1] != '\\')) && path.Length <= 2048 ? path : null;

    private static string LocalReturn(HttpContext context) => context.Request.Path + context.Request.QueryString;

    private static IResult Page(int status, string html) => TypedResults.Content(html, "text/html; charset=utf-8", Encoding.UTF8, status);

    [LoggerMessage(EventId = 1300, Level = LogLevel.Information, Message = "Web overview: token {Name} signed in")]
    private static partial void LogSignedIn(ILogger logger, string name);
}
