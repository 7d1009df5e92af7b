  // The script part of a staff page (`_staff_page.html`): the catalogue, the session, the
  // refusal texts, signing in and out. `STAFF.start(onSignedIn)` runs the page once signed in.
  const $ = (id) => document.getElementById(id);
  const MESSAGES = JSON.parse($("messages").textContent);
  const t = (key, values = {}) => (MESSAGES[key] ?? key).replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? ""));
  const LANG = document.documentElement.lang;
{% include "_session.js" %}
  const count = new Intl.NumberFormat(LANG, { maximumFractionDigits: 0 });
  const STAFF = {
    /** The JSON answer of a GET, or an Error whose message is the refusal in this page's language. */
    async get(path) {
      let response;
      try {
        response = await SESSION.fetch(path, { headers: { "Accept-Language": LANG } });
      } catch (err) {
        throw new Error(t("error.network"));
      }
      const body = await response.json().catch(() => ({}));
      if (response.ok) return body;
      const code = String(body.code || response.status);
      throw new Error(("error." + code) in MESSAGES ? t("error." + code, { message: body.detail || "" })
                                                    : t("error.other", { code, message: body.detail || "" }));
    },
    /** GET `path` and `render` its answer, saying "loading" meanwhile and the refusal if any. */
    async show(path, render) {
      $("status").textContent = t("common.loading");
      try {
        render(await STAFF.get(path));
        $("status").textContent = "";
      } catch (err) {
        $("status").textContent = err.message;
      }
    },
    showSignIn(shown) {
      $("sign-in").hidden = !shown;
      $("dashboard").hidden = shown;
      $("sign-out").hidden = shown;
    },
    start(onSignedIn) {
      $("sign-out").addEventListener("click", async () => {
        await SESSION.signOut();
        $("sign-in-error").textContent = t("page.sign_in.signed_out");
        STAFF.showSignIn(true);
      });
      SESSION.refresh().then((who) => {
        if (!who) return;
        $("signed-in-as").textContent = t("page.sign_in.signed_in_as", { name: who.name, subject: who.subject });
        STAFF.showSignIn(false);
        onSignedIn();
      }).catch(() => {});
    },
  };
